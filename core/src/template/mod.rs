//! The journey template catalogue: the DT4E pathway per destination, as data.
//!
//! Templates are TOML files under `core/templates/` (format in its README), embedded at
//! build time and validated on first use. A journey records the template id and version
//! it was made from; [`Catalogue::task_title`] finds a task's text in that version, or in
//! another version of the same template for tasks a newer version retired.

mod file;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use chrono::{Days, NaiveDate};

use crate::error::{Error, Result};
use crate::locale::{Locale, LocalizedText};
use crate::model::{Owner, StageId};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/templates.rs"));
}

/// One version of the pathway for one destination.
#[derive(Clone, Debug)]
pub struct Template {
    /// Lower-case id, e.g. `be`.
    pub id: String,
    pub version: u64,
    /// ISO 3166-1 alpha-2 code of the destination country, e.g. `BE`.
    pub destination: String,
    pub name: LocalizedText,
    pub pdo_modules: Vec<ModuleTemplate>,
    /// All fifteen stages, in pathway order.
    pub stages: Vec<StageTemplate>,
}

#[derive(Clone, Debug)]
pub struct ModuleTemplate {
    pub id: String,
    pub title: LocalizedText,
}

#[derive(Clone, Debug)]
pub struct StageTemplate {
    pub id: StageId,
    pub tasks: Vec<TaskTemplate>,
}

#[derive(Clone, Debug)]
pub struct TaskTemplate {
    pub id: String,
    pub owner: Owner,
    /// Due this many days after the journey's start date.
    pub due_days: Option<u32>,
    pub title: LocalizedText,
}

impl TaskTemplate {
    pub fn due_date(&self, start: NaiveDate) -> Option<NaiveDate> {
        self.due_days
            .and_then(|d| start.checked_add_days(Days::new(d.into())))
    }
}

impl Template {
    pub fn task(&self, task_id: &str) -> Option<(StageId, &TaskTemplate)> {
        self.stages
            .iter()
            .find_map(|s| s.tasks.iter().find(|t| t.id == task_id).map(|t| (s.id, t)))
    }

    pub fn module(&self, module_id: &str) -> Option<&ModuleTemplate> {
        self.pdo_modules.iter().find(|m| m.id == module_id)
    }

    pub fn task_count(&self) -> usize {
        self.stages.iter().map(|s| s.tasks.len()).sum()
    }
}

/// Texts shared by every destination: stage titles and UI labels.
#[derive(Clone, Debug)]
pub struct Catalogue {
    stages: BTreeMap<StageId, LocalizedText>,
    labels: BTreeMap<String, LocalizedText>,
    /// Every version of every template, by id, oldest version first.
    templates: BTreeMap<String, Vec<Template>>,
}

impl Catalogue {
    /// The catalogue built into this library. The files were validated by the test
    /// suite; an error here means a build from modified sources.
    pub fn builtin() -> Result<&'static Catalogue> {
        static BUILTIN: OnceLock<std::result::Result<Catalogue, String>> = OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                Catalogue::parse(embedded::CATALOGUE_FILE, embedded::TEMPLATE_FILES)
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|reason| Error::Template {
                template: "builtin".into(),
                reason: reason.clone(),
            })
    }

    /// Parses and validates a catalogue file and template files given as
    /// `(path relative to templates/, contents)`.
    pub fn parse(catalogue: &str, templates: &[(&str, &str)]) -> Result<Catalogue> {
        let (stages, labels) = file::parse_catalogue(catalogue)?;
        let mut by_id: BTreeMap<String, Vec<Template>> = BTreeMap::new();
        for (path, text) in templates {
            let template = file::parse_template(path, text)?;
            by_id.entry(template.id.clone()).or_default().push(template);
        }
        for (id, versions) in &mut by_id {
            versions.sort_by_key(|t| t.version);
            let numbers: Vec<u64> = versions.iter().map(|t| t.version).collect();
            if numbers.iter().enumerate().any(|(i, v)| *v != i as u64 + 1) {
                return Err(Error::Template {
                    template: id.clone(),
                    reason: format!("versions must run 1, 2, 3... without gaps; found {numbers:?}"),
                });
            }
        }
        Ok(Catalogue {
            stages,
            labels,
            templates: by_id,
        })
    }

    /// Template ids, e.g. `be`, `fr`, `ie`.
    pub fn template_ids(&self) -> impl Iterator<Item = &str> {
        self.templates.keys().map(String::as_str)
    }

    /// The newest version of a template.
    pub fn latest(&self, id: &str) -> Result<&Template> {
        self.templates
            .get(id)
            .and_then(|v| v.last())
            .ok_or_else(|| self.unknown_template(id))
    }

    /// One version of a template.
    pub fn template(&self, id: &str, version: u64) -> Result<&Template> {
        self.versions(id)?
            .iter()
            .find(|t| t.version == version)
            .ok_or_else(|| Error::NotFound(format!("template {id} version {version}")))
    }

    /// Every version of a template, oldest first.
    pub fn versions(&self, id: &str) -> Result<&[Template]> {
        self.templates
            .get(id)
            .map(Vec::as_slice)
            .ok_or_else(|| self.unknown_template(id))
    }

    fn unknown_template(&self, id: &str) -> Error {
        let known: Vec<&str> = self.template_ids().collect();
        Error::NotFound(format!("template {id:?}; known templates: {}", known.join(", ")))
    }

    pub fn stage_title(&self, stage: StageId, locale: Locale) -> &str {
        self.stages.get(&stage).map_or(stage.as_str(), |t| t.get(locale))
    }

    /// A UI label such as `status.done` or `heading.tasks`. An unknown key comes back as
    /// itself (the test suite checks that every key the code uses exists).
    pub fn label<'a>(&'a self, key: &'a str, locale: Locale) -> &'a str {
        self.labels.get(key).map_or(key, |t| t.get(locale))
    }

    pub fn has_label(&self, key: &str) -> bool {
        self.labels.contains_key(key)
    }

    /// The title of a task of a journey made from `template` at `version`: from that
    /// version, else from the newest other version that has the task (a task a newer
    /// version retired, or one an older store knows under a newer version).
    pub fn task_title(&self, template: &str, version: u64, task_id: &str, locale: Locale) -> Option<&str> {
        let versions = self.templates.get(template)?;
        let exact = versions.iter().find(|t| t.version == version);
        exact
            .into_iter()
            .chain(versions.iter().rev())
            .find_map(|t| t.task(task_id))
            .map(|(_, task)| task.title.get(locale))
    }

    /// The title of a PDO module, looked up the same way as [`Self::task_title`].
    pub fn module_title(
        &self,
        template: &str,
        version: u64,
        module_id: &str,
        locale: Locale,
    ) -> Option<&str> {
        let versions = self.templates.get(template)?;
        let exact = versions.iter().find(|t| t.version == version);
        exact
            .into_iter()
            .chain(versions.iter().rev())
            .find_map(|t| t.module(module_id))
            .map(|m| m.title.get(locale))
    }
}
