# What the packages (scripts/package) and the image's labels (scripts/image)
# say about the tools, from one place. Sourced with the workspace as the
# current directory and $bin set to the directory of the built binaries.
#   name, version, license (Cargo.toml), revision (the commit the binaries
#   say they were built from), source (git's origin, if any), summary, description
name=shm-tools
version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
license=$(sed -n '/^\[workspace.package\]/,/^\[/s/^license = "\(.*\)"/\1/p' Cargo.toml)
revision=$("$bin/shm_read" --version | sed -n 's/.*(commit \(.*\))$/\1/p')
source=$(git config --get remote.origin.url 2>/dev/null || true)
summary="System V shared memory between containers: shm_write and shm_read"
description="Two small tools that talk through a System V shared-memory segment:
shm_write publishes the current time (or any value, or a lossless stream),
shm_read prints it. Byte-compatible successors of the classic C pair that
shows shared memory between containers sharing an IPC namespace."
if [ -z "$version" ] || [ -z "$license" ]; then
  echo "no version or license in Cargo.toml's [workspace.package]" >&2
  exit 1
fi
