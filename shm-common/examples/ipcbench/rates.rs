//! `ipcbench rates`: publishes and reads per second, with and without
//! readers beside the writer.

#[allow(unused_imports)]
use super::*;

#[derive(Default)]
pub(crate) struct RateRun {
    publishes_per_sec: f64,
    reads_per_sec: Vec<f64>,
    distinct_per_sec: Vec<f64>,
    gave_up: u64,
}

/// Run a writer (publishing flat out, or idle when `writer` is false) and
/// `readers` reader threads for `dur`. The writer gets the first CPU to
/// itself; the readers share the others (all CPUs when there is only one).
pub(crate) fn rate_run(
    seg: &Segment,
    readers: usize,
    writer: bool,
    now_clock: bool,
    dur: Duration,
) -> RateRun {
    let words = words(seg);
    words.clear();
    let cpus = allowed_cpus();
    let writer_cpu = cpus.first().copied();
    let reader_cpus: Vec<usize> = if cpus.len() > 1 {
        cpus[1..].to_vec()
    } else {
        Vec::new()
    };
    let mut publisher = Publisher::new(words.slice(PING), info(Duration::ZERO), stamp(0));
    let stop = AtomicBool::new(false);
    let barrier = Barrier::new(readers + 2);
    std::thread::scope(|s| {
        let w = s.spawn(|| {
            pin(writer_cpu);
            barrier.wait();
            let start = Instant::now();
            let mut n = 0u64;
            if writer {
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..256 {
                        n += 1;
                        let t = if now_clock {
                            Timestamp::now()
                        } else {
                            stamp(n)
                        };
                        publisher.publish(t);
                    }
                }
            }
            n as f64 / start.elapsed().as_secs_f64()
        });
        let rs: Vec<_> = (0..readers)
            .map(|k| {
                let cpu = (!reader_cpus.is_empty()).then(|| reader_cpus[k % reader_cpus.len()]);
                let (barrier, stop) = (&barrier, &stop);
                s.spawn(move || {
                    pin(cpu);
                    barrier.wait();
                    let start = Instant::now();
                    let (mut ok, mut distinct, mut gave_up, mut last) = (0u64, 0u64, 0u64, 0u64);
                    while !stop.load(Ordering::Relaxed) {
                        for _ in 0..64 {
                            match read(words.slice(PING).read()) {
                                Ok(Reading::Record(r)) => {
                                    ok += 1;
                                    if r.seq != last {
                                        distinct += 1;
                                        last = r.seq;
                                    }
                                }
                                _ => gave_up += 1,
                            }
                        }
                    }
                    let secs = start.elapsed().as_secs_f64();
                    (ok as f64 / secs, distinct as f64 / secs, gave_up)
                })
            })
            .collect();
        barrier.wait();
        std::thread::sleep(dur);
        stop.store(true, Ordering::Relaxed);
        let mut run = RateRun {
            publishes_per_sec: w.join().expect("writer thread"),
            ..RateRun::default()
        };
        for r in rs {
            let (ok, distinct, gave_up) = r.join().expect("reader thread");
            run.reads_per_sec.push(ok);
            run.distinct_per_sec.push(distinct);
            run.gave_up += gave_up;
        }
        run
    })
}

pub(crate) fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// The median of `v` (0 when empty).
pub(crate) fn median_of(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

pub(crate) fn rates(opts: &Opts) -> Result<()> {
    let dur = Duration::from_secs_f64(opts.num("secs", 1.0));
    let reps = (opts.num("reps", 3.0) as usize).max(1);
    let seg = private_segment()?;
    let cpus = allowed_cpus();
    // (name, readers, writer publishing, writer reads the clock per publish)
    let configs: [(&str, usize, bool, bool); 6] = [
        ("publish, 0 readers", 0, true, false),
        ("publish, 1 reader", 1, true, false),
        ("publish, 8 readers", 8, true, false),
        ("publish(Timestamp::now()), 0 readers", 0, true, true),
        ("publish(Timestamp::now()), 1 reader", 1, true, true),
        ("read, writer idle (baseline)", 1, false, false),
    ];
    // Interleaved repetitions: a busy moment of the machine hits every row.
    let mut runs: Vec<Vec<RateRun>> = configs.iter().map(|_| Vec::new()).collect();
    for _ in 0..reps {
        for ((_, readers, writer, clock), runs) in configs.iter().zip(&mut runs) {
            runs.push(rate_run(&seg, *readers, *writer, *clock, dur));
        }
    }
    println!("### Publish and read rates\n");
    println!(
        "{} CPUs: the writer thread is pinned to CPU {:?}, readers share the others; \
         each row is the median of {reps} interleaved runs of {dur:?}.\n",
        cpus.len(),
        cpus.first()
    );
    println!("| run | publishes/s | vs no readers | reads/s per reader | new records seen/s per reader | reads that gave up (all runs) |");
    println!("|---|---:|---:|---:|---:|---:|");
    let publishes =
        |runs: &[RateRun]| median_of(runs.iter().map(|r| r.publishes_per_sec).collect());
    let base = publishes(&runs[0]);
    for ((name, readers, writer, _), runs) in configs.iter().zip(&runs) {
        let p = publishes(runs);
        let (p_text, ratio) = if *writer {
            (format!("{:.1} M", p / 1e6), format!("{:.2}x", p / base))
        } else {
            ("-".to_owned(), "-".to_owned())
        };
        let per_reader = |f: fn(&RateRun) -> &Vec<f64>, digits: usize| {
            if *readers == 0 {
                "-".to_owned()
            } else {
                let m = median_of(runs.iter().map(|r| mean(f(r))).collect());
                format!("{:.digits$} M", m / 1e6)
            }
        };
        println!(
            "| {name} | {p_text} | {ratio} | {} | {} | {} |",
            per_reader(|r| &r.reads_per_sec, 1),
            per_reader(|r| &r.distinct_per_sec, 2),
            runs.iter().map(|r| r.gave_up).sum::<u64>()
        );
    }
    println!(
        "\nTarget: at least 20 M publishes/s with no readers: {:.1} M ({}).\n",
        base / 1e6,
        verdict(base >= 20e6)
    );
    Ok(())
}
