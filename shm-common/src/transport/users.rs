//! User names from `/etc/passwd`, read directly: the binaries are static
//! and run in images without NSS.

/// The uids and names of `/etc/passwd`.
#[derive(Debug, Clone, Default)]
pub struct Users(Vec<(u32, String)>);

impl Users {
    /// Read `/etc/passwd` (none known when it cannot be read).
    pub fn load() -> Self {
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        Self::parse(&passwd)
    }

    fn parse(passwd: &str) -> Self {
        Self(
            passwd
                .lines()
                .filter_map(|l| {
                    let mut f = l.split(':');
                    let name = f.next()?;
                    Some((f.nth(1)?.parse().ok()?, name.to_owned()))
                })
                .collect(),
        )
    }

    /// The user's name, or the uid when it has none here (as `ipcs` does).
    pub fn name(&self, uid: u32) -> String {
        self.0
            .iter()
            .find(|(u, _)| *u == uid)
            .map_or_else(|| uid.to_string(), |(_, n)| n.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_or_uids() {
        let users =
            Users::parse("root:x:0:0::/root:/bin/sh\nbad\nnobody:x:65534:65534::/:/bin/false\n");
        assert_eq!(users.name(0), "root");
        assert_eq!(users.name(65534), "nobody");
        assert_eq!(users.name(7), "7");
    }
}
