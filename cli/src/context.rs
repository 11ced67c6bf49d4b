//! What every command needs: the identity and store from the global options, the case
//! to act on, and a way to print.
//!
//! A mobile app holds one `Store` opened as one identity; so does each run of this
//! device. The role is `--role` when given, else the role the device was enrolled as
//! (a family member's device acts as family without being told each time), else
//! caseworker. The role is checked against the core's policy table before the case is
//! chosen, so that a person who may not read journeys is told so, rather than that
//! their device holds no journeys.

use std::io::Write;
use std::path::{Path, PathBuf};

use passage_core::edit::Applied;
use passage_core::template::Catalogue;
use passage_core::{Action, CaseId, CaseSummary, DocKind, Edit, Identity, Role, Store};
use serde::Serialize;

use crate::args::Cli;
use crate::error::{CliError, Result};
use crate::keys::KeyDir;
use crate::render::Text;

#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) text: Text,
    pub(crate) json: bool,
    pub(crate) role: Role,
    name: String,
    store: Option<PathBuf>,
    case: Option<CaseId>,
    keys: PathBuf,
    /// How the sync client reaches the server: pins, plain HTTP.
    pub(crate) transport: (Vec<passage_core::sync::SpkiPin>, bool),
}

impl Ctx {
    pub(crate) fn new(cli: &Cli) -> Result<Ctx> {
        let store = cli.store.clone();
        let keys = match &cli.key_dir {
            Some(dir) => dir.clone(),
            None => crate::keys::default_dir()?,
        };
        let role = match cli.role {
            Some(role) => role,
            None => enrolled_role(store.as_deref(), &keys)?.unwrap_or(Role::Caseworker),
        };
        let name = cli
            .name
            .clone()
            .or_else(|| std::env::var("USER").ok())
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| role.as_str().to_owned());
        Ok(Ctx {
            text: Text {
                catalogue: Catalogue::builtin()?,
                locale: cli.lang,
            },
            json: cli.json,
            role,
            name,
            store,
            case: cli.case.clone(),
            keys,
            transport: (cli.pins.clone(), cli.insecure_plain_http),
        })
    }

    /// The sync client's options for this run. Pins given now are kept in the store
    /// for later runs; without them, the store's own apply.
    pub(crate) fn client_options(&self, store: &Store) -> Result<passage_core::sync::ClientOptions> {
        let pins = if self.transport.0.is_empty() {
            store.pins()?
        } else {
            store.set_pins(&self.transport.0)?;
            self.transport.0.clone()
        };
        Ok(passage_core::sync::ClientOptions {
            pins,
            allow_plain_http: self.transport.1,
            ..passage_core::sync::ClientOptions::default()
        })
    }

    /// The name written into the history of this device's changes.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Opens the store file (creating it, and the default directory, if needed).
    pub(crate) fn open(&self) -> Result<Store> {
        let path = match &self.store {
            Some(path) => path.clone(),
            None => {
                let dir = default_dir()?;
                std::fs::create_dir_all(&dir)?;
                dir.join(STORE_FILE)
            }
        };
        KeyDir::new(self.keys.clone()).open(&path, Identity::new(self.role, self.name.clone()))
    }

    /// Refuses, with the core's own error, what the role may not do.
    pub(crate) fn require(&self, action: Action) -> Result<()> {
        Ok(self.role.require(action)?)
    }

    /// The case to act on: `--case`, else the only case on this device. `action` is
    /// what the command will do with it, checked first.
    pub(crate) fn select(&self, store: &Store, action: Action) -> Result<CaseId> {
        self.require(action)?;
        if let Some(case) = &self.case {
            // Checked without reading any document, so a caseworker's device with
            // many cases (or one damaged case) answers at once.
            return if store.contains_case(case)? {
                Ok(case.clone())
            } else {
                Err(CliError::NotFound(format!(
                    "no case {case} on this device; `passage cases` lists them"
                )))
            };
        }
        let cases = store.cases()?;
        match cases.as_slice() {
            [one] => Ok(one.case.clone()),
            [] => Err(CliError::NotFound(match self.role {
                Role::Family => "no arrival plan on this device yet; it arrives with the next sync".into(),
                _ => "no case on this device; create one with `passage new`".into(),
            })),
            many => Err(CliError::Input(format!(
                "this device holds {} cases; choose one with --case ID{}",
                many.len(),
                self.list(many)
            ))),
        }
    }

    /// The cases, one a line, for error messages that ask the person to choose.
    fn list(&self, cases: &[CaseSummary]) -> String {
        let lines: Vec<String> = cases
            .iter()
            .map(|c| {
                format!(
                    "\n  {}  {}  {}",
                    c.case,
                    c.talent_name,
                    self.text.country_by_code(&c.destination)
                )
            })
            .collect();
        if lines.is_empty() {
            String::new()
        } else {
            format!(":{}", lines.concat())
        }
    }

    /// Applies one edit to the selected case and prints the confirmation (or, with
    /// `--json`, what the core returned).
    pub(crate) fn edit(&self, edit: &Edit, confirm: impl FnOnce(&Applied) -> String) -> Result<()> {
        let store = self.open()?;
        let case = self.select(&store, read_action(edit))?;
        self.edit_on(&store, &case, edit, confirm)
    }

    pub(crate) fn edit_on(
        &self,
        store: &Store,
        case: &CaseId,
        edit: &Edit,
        confirm: impl FnOnce(&Applied) -> String,
    ) -> Result<()> {
        let applied = store.apply(case, edit)?;
        if self.json {
            self.print_json(&applied)
        } else {
            self.print(&format!("{}\n", confirm(&applied)))
        }
    }

    /// Writes to stdout in one piece. A reader that went away (`passage show | head`)
    /// is not an error.
    pub(crate) fn print(&self, text: &str) -> Result<()> {
        let mut out = std::io::stdout().lock();
        match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => Ok(other?),
        }
    }

    pub(crate) fn print_json(&self, value: &impl Serialize) -> Result<()> {
        let mut text = serde_json::to_string_pretty(value)?;
        text.push('\n');
        self.print(&text)
    }

    /// Prints `value` as JSON with `--json`, else the text `render` makes.
    pub(crate) fn show<T: Serialize>(
        &self,
        value: &T,
        render: impl FnOnce(&Text, &T) -> String,
    ) -> Result<()> {
        if self.json {
            self.print_json(value)
        } else {
            self.print(&render(&self.text, value))
        }
    }
}

const STORE_FILE: &str = "passage.db";

/// Where the store lives when `--store` is not given.
fn default_dir() -> Result<PathBuf> {
    let dirs = directories::ProjectDirs::from("org", "Passage", "passage")
        .ok_or_else(|| CliError::Input("no home directory to keep the store in; give --store PATH".into()))?;
    Ok(dirs.data_dir().to_owned())
}

/// The role recorded when the device was enrolled, if the store exists and was. The
/// file is not created just to find out: a device that has none is not enrolled.
fn enrolled_role(store: Option<&Path>, keys: &Path) -> Result<Option<Role>> {
    let path = match store {
        Some(path) => path.to_owned(),
        None => default_dir()?.join(STORE_FILE),
    };
    if !path.exists() {
        return Ok(None);
    }
    // Any identity reads the sync settings; this one never writes.
    let store = KeyDir::new(keys.to_owned()).open(&path, Identity::new(Role::Caseworker, "passage"))?;
    Ok(store.sync_server()?.and_then(|server| server.role))
}

/// The read right an edit needs on its document: the store checks it first too, but
/// checking before choosing the case gives the same refusal on an empty device.
pub(crate) fn read_action(edit: &Edit) -> Action {
    match edit.doc_kind() {
        DocKind::Medical => Action::ReadMedical,
        DocKind::Journey | DocKind::ArrivalPlan => Action::ReadJourney,
    }
}
