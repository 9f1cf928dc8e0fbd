//! Claiming the key, for every mode: size check, claim, start-up line, and
//! the segment's removal however the mode ends.

use shm_common::cli::console;
use shm_common::cli::exit::Exit;
use shm_common::cli::failure;
use shm_common::cli::messages;
use shm_common::protocol::spec::Spec;
use shm_common::session::claim::{Claim, ClaimError, ClaimOptions};

use crate::flags::Claiming;
use crate::Failure;

/// What a mode publishes, for the claim and its messages.
pub struct Protocol {
    /// Its protocol's spec: sizes and adoption rule.
    pub spec: &'static Spec,
    /// What the mode puts in a segment ("a time").
    pub publishes: &'static str,
    /// The smallest segment that holds what this run publishes: the spec's
    /// `min_size`, or more for a large value. An existing segment's size is
    /// offered as the fix for a size mismatch only when it reaches this.
    pub room: usize,
}

impl Protocol {
    /// The protocol of `spec`, publishing what `publishes` says.
    pub const fn of(spec: &'static Spec, publishes: &'static str) -> Self {
        Self {
            spec,
            publishes,
            room: spec.min_size,
        }
    }

    /// The segment size asked for.
    pub fn size(&self, args: &Claiming) -> usize {
        args.size.unwrap_or(self.spec.default_size)
    }

    /// The segment size asked for, refused when smaller than the layout
    /// needs (as [`Protocol::run`] does; this is for before reading input).
    pub fn check_size(&self, args: &Claiming) -> Result<usize, Failure> {
        let size = self.size(args);
        let min_size = self.spec.min_size;
        if size < min_size {
            return Err((Exit::Usage, messages::too_small(size, min_size, self.room)));
        }
        Ok(size)
    }

    /// Check the size, claim the key, print the start-up line and `serve`
    /// the claim; then remove the segment, whether `serve` stopped cleanly
    /// or failed (stderr gone, say): a writer never leaves its segment.
    pub fn run(
        &self,
        args: &Claiming,
        serve: impl FnOnce(&mut Claim) -> Result<(), Failure>,
    ) -> Result<(), Failure> {
        let size = self.check_size(args)?;
        let mut claim = Claim::start(
            ClaimOptions {
                key_file: args.key.key_file.clone(),
                proj_id: args.key.proj_id,
                size,
                mode: args.mode,
            },
            self.spec.adopt,
        )
        .map_err(|e| self.failure(e))?;
        let served = console::say(&messages::startup("shm_write", &claim))
            .map_err(Failure::from)
            .and_then(|()| serve(&mut claim));
        let finished = claim.finish(served.is_ok()).map_err(Failure::from);
        served.and(finished)
    }

    /// Replace a segment removed from outside (`ipcrm`), saying so.
    pub fn recreate(&self, claim: &mut Claim) -> Result<(), Failure> {
        console::say(&messages::removed_from_outside(
            "shm_write",
            claim.key(),
            claim.segment().info().id,
        ))?;
        claim.recreate().map_err(|e| self.failure(e))?;
        console::say(&messages::startup("shm_write", claim))?;
        Ok(())
    }

    fn failure(&self, e: ClaimError) -> Failure {
        failure::claim(&e, self.publishes, self.room)
    }
}
