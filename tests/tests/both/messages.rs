//! Values and streams from a writer container to a joined reader.

use shm_tests::docker::IMAGE;
use shm_tests::engine::{stderr_of, stdout_of, Engine};

use super::{start_writer, READER, WRITER};

pub fn a_value_crosses_from_a_writer_container_to_a_joined_reader(engine: &impl Engine) {
    let image = engine.image(IMAGE);
    let pi = "PI is defined as: 22/7==3.14286";
    let (writer, _) = start_writer(
        engine,
        &image,
        &["--ipc", "shareable"],
        &[WRITER, "--value", pi],
    );
    let reader = engine.run_container(
        "value-reader",
        &["--ipc", &format!("container:{}", writer.name)],
        &image,
        &[READER, "--on-change", "--count", "1", "--format", "raw"],
    );
    assert_eq!(reader.wait_exit(), 0, "{:?}", reader.logs());
    assert_eq!(reader.logs().0, vec![pi.to_owned()]);
    // The writer's healthcheck command passes on a value, too.
    let health = writer.exec(&[READER, "--once"]);
    assert!(health.status.success(), "{health:?}");
    assert_eq!(stdout_of(&health), format!("now time: {pi}\n"));
}

/// The producer of Docker in Action's producer/consumer walkthrough, with
/// our stream: 500 pseudo-random hex messages, then `done` (the base image
/// has a shell and little else, so the generator is shell arithmetic).
const PRODUCER_SCRIPT: &str = "x=$$; i=0; { while [ $i -lt 500 ]; do x=$(( (x * 1103515245 + 12345) % 2147483648 )); m=$(printf '%x' $(( x / 65536 % 256 ))); echo \"Produced: $m\" >&2; echo $m; i=$((i + 1)); done; echo done; } | /bin/shm_write --stream";

pub fn the_producer_consumer_walkthrough_with_a_stream(engine: &impl Engine) {
    let image = engine.image(IMAGE);
    let (producer, _) = start_writer(
        engine,
        &image,
        &["--ipc", "shareable", "-u", "nobody"],
        &["/bin/sh", "-c", PRODUCER_SCRIPT],
    );
    // Unjoined, the consumer fails with the namespace diagnosis.
    let alone = engine.run_foreground(
        &["--rm", "-u", "nobody"],
        &image,
        &[READER, "--stream", "--timeout", "1s"],
    );
    assert_eq!(alone.status.code(), Some(3), "{alone:?}");
    let said = stderr_of(&alone);
    let fix = format!(
        "  fix: start this consumer's container with `{} run --ipc container:<producer container> ...`",
        engine.name()
    );
    assert!(said.contains(&fix), "{said}");
    assert!(
        said.contains("timed out after 1s waiting for a producer (the reason is above)"),
        "{said}"
    );
    assert!(!said.contains("writer"), "{said}");
    let consumer = engine.run_container(
        "stream-consumer",
        &["--ipc", &format!("container:{}", producer.name), "-u", "nobody"],
        &image,
        &["/bin/sh", "-c", "/bin/shm_read --stream | while read m; do echo \"Consumed: $m\"; [ \"$m\" = done ] && break; done"],
    );
    assert_eq!(consumer.wait_exit(), 0, "{:?}", consumer.logs());
    assert_eq!(producer.wait_exit(), 0, "{:?}", producer.logs());
    let consumed: Vec<String> = consumer
        .logs()
        .0
        .iter()
        .filter_map(|l| l.strip_prefix("Consumed: "))
        .map(str::to_owned)
        .collect();
    let (_, said) = producer.logs();
    let produced: Vec<String> = said
        .iter()
        .filter_map(|l| l.split("Produced: ").nth(1))
        .map(str::to_owned)
        .collect();
    assert_eq!(produced.len(), 500, "{:?}", producer.logs());
    assert_eq!(consumed[..500], produced[..], "every message, in order");
    assert_eq!(consumed.last().map(String::as_str), Some("done"));
    assert!(
        said.iter().any(|l| l.contains("stream delivered")),
        "{said:?}"
    );
}
