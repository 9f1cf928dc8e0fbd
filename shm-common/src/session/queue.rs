//! Finding a POSIX message queue by name in this IPC namespace, and the
//! facts that explain its absence. A queue has no key file and no beacon,
//! so the diagnosis rests on this namespace and on what the mqueue
//! filesystem shows, when it is mounted.

use crate::transport::mqueue::{self, Direction, OpenError, Queue, QueueName};
use crate::transport::namespace::{self, Ns};

/// No queue by that name in this IPC namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueAbsent {
    /// The queue looked for.
    pub name: QueueName,
    /// This process's IPC namespace.
    pub own_ns: Ns,
    /// Whether the mqueue filesystem is mounted here (so `ls /dev/mqueue`
    /// shows what queues there are).
    pub mounted: bool,
    /// The other queues of this namespace, when mounted.
    pub others: Vec<QueueName>,
}

/// Open `name` in `direction`, or say why it is not there.
pub fn find(
    name: &QueueName,
    direction: Direction,
) -> Result<Result<Queue, QueueAbsent>, OpenError> {
    match Queue::open(name, direction) {
        Ok(queue) => Ok(Ok(queue)),
        Err(OpenError::NotFound { .. }) => Ok(Err(absent(name))),
        Err(e) => Err(e),
    }
}

fn absent(name: &QueueName) -> QueueAbsent {
    let others = mqueue::table()
        .map(|entries| entries.into_iter().map(|e| e.name).collect())
        .unwrap_or_default();
    QueueAbsent {
        name: name.clone(),
        own_ns: Ns(namespace::ipc_namespace().unwrap_or(0)),
        mounted: mqueue::mounted(),
        others,
    }
}
