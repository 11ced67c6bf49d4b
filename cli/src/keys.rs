//! The terminal device's store keys: what the Android Keystore and the iOS Keychain are
//! to the apps, a directory of key files is to a terminal.
//!
//! Each store's key is a file named after the store's id (`<id>.key`, 64 hex
//! characters), readable by its owner only (0600, in a 0700 directory), kept apart
//! from the stores (`--key-dir`, by default in the user's configuration directory):
//! a copied or lost store file alone opens nothing. A store without a key file gets a
//! new random key, written (and synced) *before* the store is sealed under it, so that
//! no crash can leave a store sealed under a key nobody kept; if the store turns out
//! to be sealed already under another key, the new file is removed again.

use std::cell::RefCell;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use passage_core::{Identity, KeySource, SecretKey, Store, StoreId, StoreOptions};

use crate::error::{CliError, Result};

/// A directory of store keys.
#[derive(Debug)]
pub(crate) struct KeyDir {
    dir: PathBuf,
    /// A key file this open created, removed again if the open fails.
    created: RefCell<Option<PathBuf>>,
}

impl KeyDir {
    pub(crate) fn new(dir: PathBuf) -> KeyDir {
        KeyDir {
            dir,
            created: RefCell::new(None),
        }
    }

    fn file(&self, store: &StoreId) -> PathBuf {
        self.dir.join(format!("{store}.key"))
    }

    /// Opens the store at `path` sealed under its key from this directory.
    pub(crate) fn open(&self, path: &Path, identity: Identity) -> Result<Store> {
        match Store::open_with_key(path, identity, StoreOptions::default(), self) {
            Ok(store) => Ok(store),
            Err(e) => {
                if let Some(created) = self.created.borrow_mut().take() {
                    let _ = std::fs::remove_file(created);
                }
                Err(match e {
                    passage_core::Error::WrongKey => CliError::Key(format!(
                        "the key in {} does not open this store; restore the store's own key file",
                        self.dir.display()
                    )),
                    other => other.into(),
                })
            }
        }
    }
}

fn io(e: std::io::Error) -> passage_core::Error {
    passage_core::Error::Io(e)
}

impl KeySource for KeyDir {
    fn store_key(&self, store: &StoreId) -> passage_core::Result<SecretKey> {
        let file = self.file(store);
        match std::fs::read_to_string(&file) {
            Ok(text) => {
                let bytes = hex_key(text.trim()).ok_or_else(|| {
                    passage_core::Error::InvalidInput(format!(
                        "{} is not a store key (64 hex characters)",
                        file.display()
                    ))
                })?;
                SecretKey::from_bytes(&bytes)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = SecretKey::generate()?;
                write_key_file(&self.dir, &file, &key)?;
                *self.created.borrow_mut() = Some(file);
                Ok(key)
            }
            Err(e) => Err(io(e)),
        }
    }
}

fn hex_key(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64 {
        return None;
    }
    (0..32)
        .map(|i| u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

/// Writes a new key file, owner-only, and syncs it and its directory.
fn write_key_file(dir: &Path, file: &Path, key: &SecretKey) -> passage_core::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(io)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options.open(file).map_err(io)?;
    let text: String = key.expose().iter().map(|b| format!("{b:02x}")).collect();
    out.write_all(format!("{text}\n").as_bytes()).map_err(io)?;
    out.sync_all().map_err(io)?;
    if let Ok(dir) = std::fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// The default key directory: `passage/keys` in the user's configuration directory.
pub(crate) fn default_dir() -> Result<PathBuf> {
    let dirs = directories::ProjectDirs::from("org", "Passage", "passage").ok_or_else(|| {
        CliError::Input("no home directory to keep store keys in; give --key-dir DIR".into())
    })?;
    Ok(dirs.config_dir().join("keys"))
}
