//! `--mqueue /NAME`: receive the messages of a POSIX message queue as
//! Docker in Action's consumer does, until the end marker. While the queue
//! is not there, say why (the namespace diagnosis) and wait.

use std::time::Instant;

use shm_common::cli::console;
use shm_common::cli::exit::Exit;
use shm_common::cli::failure;
use shm_common::cli::messages;
use shm_common::protocol::mqueue::{QueueError, Receiver, BEAT};
use shm_common::session::queue;
use shm_common::transport::mqueue::{Direction, Queue};
use shm_common::transport::signals::StopSignals;

use crate::flags::Mqueue;
use crate::output;
use crate::report::{Condition, Reporter};
use crate::Failure;

/// Receive until the end marker, `--count`, `--once`, a stop signal or
/// `--timeout`.
pub fn run(args: &Mqueue, signals: &StopSignals) -> Result<Exit, Failure> {
    let Some(queue) = find(args, signals)? else {
        return Ok(Exit::Interrupted);
    };
    let mut receiver = Receiver::new(queue).map_err(|e| failure::queue_sys(&args.name, e))?;
    let wanted = if args.once { Some(1) } else { args.count };
    let mut received = 0u64;
    loop {
        let deadline = args.timeout.map(|t| Instant::now() + t);
        let message = match receiver.next(signals, deadline) {
            Ok(message) => message,
            Err(QueueError::Stopped(signal)) => {
                console::say(&messages::mqueue::stopped(
                    "shm_read", signal, &args.name, received, false,
                ))?;
                return Ok(Exit::Interrupted);
            }
            Err(QueueError::TimedOut) => {
                return Err((
                    Exit::NoWriter,
                    messages::mqueue::no_message(
                        &args.name,
                        args.timeout.unwrap_or_default(),
                        received,
                    ),
                ))
            }
            Err(QueueError::Sys(e)) => return Err(failure::queue_sys(&args.name, e)),
        };
        received += 1;
        let end = message.text() == args.end.as_bytes();
        if let Some(line) = output::message_line(args.format, &message, end) {
            console::print_line(&line)?;
        }
        if end || wanted.is_some_and(|n| received >= n) {
            return Ok(Exit::Ok);
        }
    }
}

/// Wait for the queue, saying why it is not there; `None` on a stop signal.
fn find(args: &Mqueue, signals: &StopSignals) -> Result<Option<Queue>, Failure> {
    let mut reporter = Reporter::default();
    let since = Instant::now();
    loop {
        match queue::find(&args.name, Direction::Receive) {
            Ok(Ok(queue)) => {
                if reporter.clear() {
                    if let Ok(attributes) = queue.attributes() {
                        console::say(&messages::mqueue::found(&args.name, &attributes))?;
                    }
                }
                return Ok(Some(queue));
            }
            Ok(Err(absent)) => {
                let message = messages::mqueue::absent(&absent);
                if let Some(limit) = args.timeout.filter(|t| since.elapsed() >= *t) {
                    return Err((Exit::NoWriter, messages::gave_up(limit, &message)));
                }
                reporter.report(Condition::NoQueue, &message)?;
            }
            Err(e) => return Err(failure::queue(&e, false)),
        }
        if let Ok(Some(signal)) = signals.sleep(BEAT) {
            console::say(&messages::mqueue::stopped(
                "shm_read", signal, &args.name, 0, false,
            ))?;
            return Ok(None);
        }
    }
}
