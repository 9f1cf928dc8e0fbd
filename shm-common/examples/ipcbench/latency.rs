//! `ipcbench latency`: one-way propagation latency of each mechanism,
//! from ping-pong rounds between two processes, with quantiles.

#[allow(unused_imports)]
use super::*;

pub(crate) fn quantile(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i] as f64
}

/// Cost of one `Instant::now()`, which every sample includes once.
pub(crate) fn clock_cost() -> f64 {
    let n = 1_000_000;
    let start = Instant::now();
    for _ in 0..n {
        std::hint::black_box(Instant::now());
    }
    start.elapsed().as_nanos() as f64 / f64::from(n)
}

pub(crate) fn latency(opts: &Opts) -> Result<()> {
    let rounds = opts.num("rounds", 5.0) as usize;
    let scale = opts.num("scale", 1.0);
    let out = opts.path("out");
    let cpus = allowed_cpus();
    let pins = match cpus.as_slice() {
        [a, b, ..] => (Some(*a), Some(*b)),
        _ => (None, None),
    };
    pin(pins.0);
    let seg = private_segment()?;
    let mut all: Vec<(Mech, Vec<u64>)> = Mech::ALL.iter().map(|&m| (m, Vec::new())).collect();
    for r in 0..rounds {
        for (mech, samples) in &mut all {
            let rtts = round(*mech, mech.iters(scale), &seg, pins)?;
            samples.extend(rtts.iter().map(|rtt| rtt / 2));
        }
        eprintln!("ipcbench: latency round {}/{rounds} done", r + 1);
    }
    for (_, samples) in &mut all {
        samples.sort_unstable();
    }
    let median = |m: Mech| quantile(&all.iter().find(|(x, _)| *x == m).expect("measured").1, 0.5);
    let (floor, record) = (median(Mech::Floor), median(Mech::Record));
    println!("### One-way latency (half a ping-pong round trip)\n");
    println!(
        "CPUs: ping on {:?}, pong on {:?}; {rounds} interleaved rounds; one clock read per sample ({:.1} ns) included.\n",
        pins.0,
        pins.1,
        clock_cost()
    );
    println!("| mechanism | samples | median ns | mean ns | p90 ns | p99 ns | p99.9 ns | median vs floor | median vs record |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (mech, s) in &all {
        let m = quantile(s, 0.5);
        println!(
            "| {} | {} | {:.0} | {:.1} | {:.0} | {:.0} | {:.0} | {:.2}x | {:.2}x |",
            mech.name(),
            s.len(),
            m,
            s.iter().sum::<u64>() as f64 / s.len() as f64,
            quantile(s, 0.9),
            quantile(s, 0.99),
            quantile(s, 0.999),
            m / floor,
            m / record
        );
    }
    let pipe = median(Mech::Pipe);
    println!(
        "\nTargets: record within 2x of the floor: {:.2}x ({}); at least 100x faster than the pipe: {:.0}x ({}).\n",
        record / floor,
        verdict(record / floor <= 2.0),
        pipe / record,
        verdict(pipe / record >= 100.0)
    );
    if let Some(dir) = out {
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let path = dir.join("latency_quantiles.csv");
        let mut csv = String::from("quantile");
        for (mech, _) in &all {
            csv += &format!(",{}", mech.tag());
        }
        csv.push('\n');
        let mut qs: Vec<f64> = (1..1000).map(|k| f64::from(k) / 1000.0).collect();
        qs.extend([0.9995, 0.9999]);
        for q in qs {
            csv += &format!("{q}");
            for (_, s) in &all {
                csv += &format!(",{}", quantile(s, q));
            }
            csv.push('\n');
        }
        std::fs::write(&path, csv).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

pub(crate) fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "MISSED"
    }
}
