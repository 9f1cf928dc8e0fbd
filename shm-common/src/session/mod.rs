//! The session layer: who holds a key. [`claim`] is the writer's side
//! (lock, create or adopt, beacon, removal), generic over protocols through
//! an adoption rule; [`find`] is the reader's side (find, attach, follow,
//! and the facts that explain an absence); [`beacon`] is what a writer
//! records in its key file, which both read; [`hand_over`] lets a value
//! writer's readers take its last value before it stops; [`queue`] finds a
//! POSIX message queue by name and explains its absence; [`inventory`]
//! collects everything one IPC namespace holds and flags what was leaked.

pub mod beacon;
pub mod claim;
pub mod find;
pub mod hand_over;
pub mod inventory;
pub mod queue;
