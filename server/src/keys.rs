//! The server's master key: where it comes from, and the files it is kept in.
//!
//! Documents are sealed at rest under a data key each, wrapped by this master key
//! (`storage::seal`). The key is 32 bytes, written as 64 hex characters, and read from
//! the environment (`PASSAGE_SERVER_KEY`) or from a file (`--key-file`,
//! `PASSAGE_SERVER_KEY_FILE`); never from the command line, where other users of the
//! machine and shell histories would see it, and never logged. Without either, the
//! server keeps it in `server.key` in the data directory, made on first use: that
//! protects backups (`passage-server backup` copies the database, not the key) but not
//! a copy of the whole directory, so an operator should keep the key elsewhere.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use passage_core::SecretKey;

use crate::error::{Result, ServerError};

/// The environment variable that may hold the key itself.
pub const KEY_ENV: &str = "PASSAGE_SERVER_KEY";
/// The key file in the data directory when no other is given.
pub const DEFAULT_KEY_FILE: &str = "server.key";

/// Where the key was found, for the log line at start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyOrigin {
    Environment,
    File(PathBuf),
    /// Made now, in the data directory.
    Created(PathBuf),
}

fn parse(text: &str, from: &str) -> Result<SecretKey> {
    let bytes = hex::decode(text.trim())
        .ok()
        .filter(|b| b.len() == 32)
        .ok_or_else(|| {
            ServerError::Input(format!("{from} does not hold a server key (64 hex characters)"))
        })?;
    Ok(SecretKey::from_bytes(&bytes)?)
}

/// The text of a key file: 64 hex characters and a newline.
fn key_text(key: &SecretKey) -> String {
    format!("{}\n", hex::encode(key.expose()))
}

/// Reads a key file.
pub fn read_key_file(path: &Path) -> Result<SecretKey> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ServerError::Input(format!("the key file {} cannot be read: {e}", path.display())))?;
    parse(&text, &path.display().to_string())
}

/// Writes a new key file, readable by its owner only, synced; refuses to replace one.
pub fn write_key_file(path: &Path, key: &SecretKey) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| ServerError::Input(format!("the key file {} cannot be made: {e}", path.display())))?;
    file.write_all(key_text(key).as_bytes())?;
    file.sync_all()?;
    Ok(())
}

/// The master key: from the environment, else from `key_file`, else from the data
/// directory's own key file, made there if `may_create` (a database not sealed yet).
pub fn master_key(data: &Path, key_file: Option<&Path>, may_create: bool) -> Result<(SecretKey, KeyOrigin)> {
    if let Ok(text) = std::env::var(KEY_ENV) {
        return Ok((parse(&text, KEY_ENV)?, KeyOrigin::Environment));
    }
    if let Some(path) = key_file {
        return Ok((read_key_file(path)?, KeyOrigin::File(path.to_owned())));
    }
    let path = data.join(DEFAULT_KEY_FILE);
    if path.exists() {
        return Ok((read_key_file(&path)?, KeyOrigin::File(path)));
    }
    if !may_create {
        return Err(ServerError::Input(format!(
            "the server's documents are sealed and no key is given: set {KEY_ENV}, pass --key-file, or restore {}",
            path.display()
        )));
    }
    let key = SecretKey::generate()?;
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(data)
        .map_err(|e| ServerError::Input(format!("cannot create {}: {e}", data.display())))?;
    write_key_file(&path, &key)?;
    Ok((key, KeyOrigin::Created(path)))
}
