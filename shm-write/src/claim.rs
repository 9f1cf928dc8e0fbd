//! Claiming the key, for every mode: size check, claim, start-up line.

use shm_common::cli::exit::Exit;
use shm_common::cli::messages;
use shm_common::protocol::adopt::Rule;
use shm_common::session::claim::{Claim, ClaimError, ClaimOptions};

use crate::flags::Args;
use crate::Failure;

/// What a mode publishes, for the claim and its messages.
pub struct Protocol {
    /// What the mode puts in a segment ("a time").
    pub publishes: &'static str,
    /// The smallest segment it accepts.
    pub min_size: usize,
    /// The segment size without `--size`.
    pub default_size: usize,
    /// When it may take over an existing segment.
    pub rule: Rule,
}

impl Protocol {
    /// The segment size asked for.
    pub fn size(&self, args: &Args) -> usize {
        args.size.unwrap_or(self.default_size)
    }

    /// Check the size, claim the key and print the start-up line.
    pub fn claim(&self, args: &Args) -> Result<Claim, Failure> {
        let size = self.size(args);
        if size < self.min_size {
            return Err((Exit::Usage, messages::too_small(size, self.min_size)));
        }
        let claim = Claim::start(
            ClaimOptions {
                key_file: args.key.key_file.clone(),
                proj_id: args.key.proj_id,
                size,
                mode: args.mode,
            },
            self.rule,
        )
        .map_err(|e| self.failure(e))?;
        eprintln!("{}", messages::startup("shm_write", &claim));
        Ok(claim)
    }

    /// Replace a segment removed from outside (`ipcrm`), saying so.
    pub fn recreate(&self, claim: &mut Claim) -> Result<(), Failure> {
        eprintln!(
            "{}",
            messages::removed_from_outside("shm_write", claim.key(), claim.segment().info().id)
        );
        claim.recreate().map_err(|e| self.failure(e))?;
        eprintln!("{}", messages::startup("shm_write", claim));
        Ok(())
    }

    /// Remove the segment at a clean stop.
    pub fn finish(claim: Claim) -> Result<(), Failure> {
        claim
            .finish()
            .map_err(|e| (Exit::Failure, messages::stop(&e)))
    }

    fn failure(&self, e: ClaimError) -> Failure {
        (
            Exit::of_claim(&e),
            messages::claim(&e, self.publishes, self.min_size),
        )
    }
}
