//! `--mqueue /NAME`: receive the messages of a POSIX message queue as
//! Docker in Action's consumer does, until the end marker. While the queue
//! is not there, say why (the namespace diagnosis) and wait.

use std::time::Instant;

use shm_common::cli::console;
use shm_common::cli::exit::Exit;
use shm_common::cli::failure;
use shm_common::cli::messages::{self, Side};
use shm_common::protocol::mqueue::{QueueError, Receiver, BEAT};
use shm_common::session::queue;
use shm_common::transport::mqueue::{
    self, Attributes, Direction, OpenError, Queue, QueueEntry, QueueName,
};
use shm_common::transport::namespace::{self, Ns};
use shm_common::transport::signals::StopSignals;

use crate::flags::Mqueue;
use crate::output::{self, json_string, Format};
use crate::report::{Condition, Reporter};
use crate::Failure;
use shm_common::transport::users::Users;

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
    let mut reporter = Reporter::new(Side::Reader, args.explain);
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
                let message = reporter.queue_absent(&absent);
                if let Some(limit) = args.timeout.filter(|t| since.elapsed() >= *t) {
                    let said = reporter.gave_up(limit, Condition::NoQueue, &message);
                    return Err((Exit::NoWriter, said));
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

/// `--inspect --mqueue /NAME`: the queue's attributes, owner and mode.
pub fn inspect(name: &QueueName, format: Format) -> Result<Exit, Failure> {
    let ns = Ns(namespace::ipc_namespace().unwrap_or(0));
    let opened = match Queue::open(name, Direction::Receive) {
        Ok(queue) => Some(
            queue
                .attributes()
                .map_err(|e| failure::queue_sys(name, e))?,
        ),
        Err(OpenError::NotFound { .. }) => {
            return Err((Exit::NoWriter, messages::mqueue::no_queue(name)))
        }
        Err(OpenError::PermissionDenied { .. }) => None,
        Err(e) => return Err(failure::queue(&e, false)),
    };
    let entry = mqueue::entry(name);
    let users = Users::load();
    let text = match format {
        Format::Json => inspect_json(name, ns, opened, entry.as_ref(), &users),
        _ => messages::mqueue::inspected(
            name,
            ns,
            opened,
            entry.as_ref(),
            &entry
                .as_ref()
                .map(|e| users.name(e.owner.uid))
                .unwrap_or_default(),
        ),
    };
    console::print(&text)?;
    Ok(Exit::Ok)
}

fn inspect_json(
    name: &QueueName,
    ns: Ns,
    attributes: Option<Attributes>,
    entry: Option<&QueueEntry>,
    users: &Users,
) -> String {
    let attributes = attributes.map_or("null".to_owned(), |a| {
        format!(
            "{{\"flags\":{},\"maxmsg\":{},\"msgsize\":{},\"curmsgs\":{}}}",
            a.flags, a.maxmsg, a.msgsize, a.curmsgs
        )
    });
    let file = entry.map_or("null".to_owned(), |e| {
        format!(
            "{{\"owner\":{},\"uid\":{},\"gid\":{},\"mode\":\"{:04o}\",\"qsize\":{},\"notify\":{{\"how\":{},\"signo\":{},\"pid\":{}}}}}",
            json_string(&users.name(e.owner.uid)),
            e.owner.uid,
            e.owner.gid,
            e.owner.mode,
            e.qsize,
            e.notify.how,
            e.notify.signo,
            e.notify.pid
        )
    });
    format!(
        "{{\"mqueue\":{},\"ipc_ns\":\"{ns}\",\"attributes\":{attributes},\"file\":{file}}}\n",
        json_string(name.as_str())
    )
}
