//! `--mqueue /NAME`: send each line of standard input as one message of a
//! POSIX message queue, framed as Docker in Action's producer frames them,
//! then the end marker; create the queue with the book's attributes when
//! there is none, and unlink it at the end only if this writer created it.

use std::io::{ErrorKind, Read as _};
use std::os::fd::AsFd;

use shm_common::cli::console;
use shm_common::cli::exit::Exit;
use shm_common::cli::failure;
use shm_common::cli::messages;
use shm_common::protocol::mqueue::{QueueError, Sender, BEAT};
use shm_common::transport::mqueue::{Queue, BOOK_MAXMSG, BOOK_MSGSIZE};
use shm_common::transport::signals::{StopSignals, Wake};

use crate::flags::Mqueue;
use crate::Failure;

/// Send standard input, then the end marker.
pub fn run(args: &Mqueue, signals: &StopSignals) -> Result<(), Failure> {
    let msgsize = args.size.map_or(BOOK_MSGSIZE, |s| s as i64);
    let queue = Queue::open_or_create(&args.name, args.mode, BOOK_MAXMSG, msgsize)
        .map_err(|e| failure::queue(&e, true))?;
    let created = queue.created();
    let mut sender = Sender::new(queue).map_err(|e| failure::queue_sys(&args.name, e))?;
    let attributes = sender
        .queue()
        .attributes()
        .map_err(|e| failure::queue_sys(&args.name, e))?;
    console::say(&messages::mqueue::sending(
        &args.name,
        created.then_some(args.mode),
        &attributes,
        &args.end,
    ))?;
    let stopped = |signal, sender: &Sender| -> Failure {
        (
            Exit::Interrupted,
            messages::mqueue::stopped("shm_write", signal, &args.name, sender.sent(), true),
        )
    };
    let send = |sender: &mut Sender, text: &[u8]| -> Result<(), Failure> {
        let message = sender
            .frame(text)
            .map_err(|e| failure::queue_line_too_long(e, &args.name, created))?;
        match sender.send(&message, signals) {
            Ok(()) => Ok(()),
            Err(QueueError::Stopped(signal)) => Err(stopped(signal, sender)),
            Err(QueueError::TimedOut) => unreachable!("sending has no deadline"),
            Err(QueueError::Sys(e)) => Err(failure::queue_sys(&args.name, e)),
        }
    };
    // A line must leave room for its NUL: refuse one as soon as it is
    // longer than that, without reading the rest.
    let limit = sender.msgsize().saturating_sub(1);
    let mut pending: Vec<u8> = Vec::new();
    let mut chunk = vec![0; 64 * 1024];
    // Unbuffered: a read follows a wait that says the descriptor is ready.
    let mut stdin = std::io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .map(std::fs::File::from)
        .map_err(|e| (Exit::Failure, format!("standard input: {e}")))?;
    loop {
        match signals
            .wait_readable(stdin.as_fd(), BEAT)
            .map_err(|e| (Exit::Failure, messages::signals_failed(e)))?
        {
            Wake::Signal(signal) => return Err(stopped(signal, &sender)),
            Wake::Timeout => continue,
            Wake::Readable => {}
        }
        let n = match stdin.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::Interrupted | ErrorKind::WouldBlock) => {
                continue
            }
            Err(e) => return Err((Exit::Failure, format!("reading standard input: {e}"))),
        };
        if n == 0 {
            break;
        }
        pending.extend_from_slice(&chunk[..n]);
        let mut start = 0;
        while let Some(i) = pending[start..].iter().position(|&b| b == b'\n') {
            send(&mut sender, &pending[start..start + i])?;
            start += i + 1;
        }
        pending.drain(..start);
        if pending.len() > limit {
            send(&mut sender, &pending)?;
        }
    }
    if !pending.is_empty() {
        send(&mut sender, &pending)?;
    }
    send(&mut sender, args.end.as_bytes())?;
    sender
        .finish()
        .map_err(|e| failure::queue_sys(&args.name, e))
}
