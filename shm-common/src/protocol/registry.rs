//! Every protocol this build knows, by its [`Spec`]: adding a kind adds
//! its spec here.

use super::header::Kind;
use super::spec::Spec;
use super::{stream, time, value};

/// The specs, in the order of their kind codes.
pub const SPECS: [&Spec; 3] = [&time::spec::SPEC, &value::spec::SPEC, &stream::spec::SPEC];

/// The spec of `kind`.
pub fn spec_of(kind: Kind) -> &'static Spec {
    match kind {
        Kind::Time => &time::spec::SPEC,
        Kind::Value => &value::spec::SPEC,
        Kind::Stream => &stream::spec::SPEC,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_spec_is_its_kinds() {
        for spec in SPECS {
            assert_eq!(spec_of(spec.kind).kind, spec.kind);
            assert!(spec.min_size <= spec.default_size, "{}", spec.kind.name());
        }
    }
}
