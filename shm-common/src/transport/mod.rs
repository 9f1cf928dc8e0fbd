//! The transport layer: System V segments, keys and the facts around them,
//! knowing nothing of what a segment holds.
//!
//! - `sys` (private): every `unsafe` system call, futexes included;
//! - [`segment`]: a segment handle that owns (removes) or only borrows the
//!   segment, with a load-only [`view::ReadView`] and a writable
//!   [`view::WriteView`];
//! - [`key`] and [`key_file`]: the System V key (`ftok`), and the key file
//!   it comes from (what the file holds is the session's business);
//! - [`table`], [`procs`] and [`namespace`]: the kernel's segment table,
//!   the processes attached to each segment, and the IPC namespace probe;
//! - [`signals`]: stop signals as events, for sleeps that end on SIGTERM;
//! - [`limits`]: which of the kernel's limits a failed create ran into;
//! - [`file_events`]: changes to one file (inotify), for a reader waiting for a
//!   writer's key file.
//! - [`place`]: where this process runs (a Docker or Podman container, a
//!   Kubernetes pod, or none), from the marks the engines leave.
//! - [`mqueue`]: POSIX message queues and the table of a namespace's.
//! - [`ipc_tables`]: the message-queue and semaphore-set tables, beside
//!   [`table`]'s segments; [`posix_shm`]: the files of a `/dev/shm`;
//!   [`root`]: where a namespace's mounts are seen from; [`users`]: user
//!   names from `/etc/passwd`.
//! - [`census`]: every IPC namespace of the machine with the processes and
//!   mounts that keep it, and work run inside one (`setns` on a thread);
//!   [`containers`] names a process's container from its cgroup (engine,
//!   id, Kubernetes pod), and [`engine_api`] asks Docker's or Podman's API
//!   socket for a container's name.

pub mod census;
pub mod coarse;
pub mod containers;
pub mod engine_api;
pub mod file_events;
pub mod ipc_tables;
pub mod key;
pub mod key_file;
pub mod limits;
pub mod mqueue;
pub mod namespace;
pub mod place;
pub mod posix_shm;
pub mod procs;
pub mod root;
pub mod segment;
pub mod signals;
mod sys;
pub mod table;
pub mod users;
pub mod view;
