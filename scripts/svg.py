"""What the plot scripts share: the SVG's opening, a legend entry, writing
the file, and the command line (two arguments: the table and the SVG)."""
import sys


def start(width, height, title):
    """The opening elements of a white SVG with a centred title."""
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="24" text-anchor="middle" font-size="15">{title}</text>',
    ]


def legend(out, x, y, color, text):
    """A short line in `color` and its text, with the text's baseline at y."""
    out.append(f'<line x1="{x}" y1="{y - 4}" x2="{x + 24}" y2="{y - 4}" stroke="{color}" stroke-width="2"/>')
    out.append(f'<text x="{x + 30}" y="{y}">{text}</text>')


def save(out, dst):
    out.append("</svg>")
    with open(dst, "w") as f:
        f.write("\n".join(out) + "\n")


def run(main, doc):
    """main(src, dst) from the command line, or the usage (doc) and exit 1."""
    if len(sys.argv) != 3:
        sys.exit(doc)
    main(sys.argv[1], sys.argv[2])
