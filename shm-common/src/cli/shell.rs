//! Words for a shell: the commands the tools print for a person to run
//! (`nsenter --ipc=<file> ipcrm ...`, `umount <path>`) must survive being
//! pasted, whatever the path holds.

/// `word` as one shell word: as it is when it holds only characters no
/// shell treats specially, else in single quotes.
pub fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+:@=,".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_words_for_the_shell() {
        assert_eq!(shell_word("/run/ipcns/a"), "/run/ipcns/a");
        assert_eq!(shell_word("/tmp/ipc ns"), "'/tmp/ipc ns'");
        assert_eq!(shell_word("/tmp/it's"), "'/tmp/it'\\''s'");
        assert_eq!(shell_word(""), "''");
    }
}
