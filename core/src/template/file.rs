//! The TOML file formats of templates and the catalogue, and their validation.
//!
//! Parsing is strict (unknown fields are errors) so a typo in a data file fails the
//! test suite instead of silently dropping a task.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::{ModuleTemplate, StageTemplate, TaskTemplate, Template};
use crate::error::{Error, Result};
use crate::locale::LocalizedText;
use crate::model::{Owner, StageId};

const FORMAT: u32 = 1;
const PDO_MODULES: usize = 5;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateFile {
    format: u32,
    id: String,
    version: u64,
    destination: String,
    name: LocalizedText,
    pdo_modules: Vec<ModuleFile>,
    stages: Vec<StageFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModuleFile {
    id: String,
    title: LocalizedText,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StageFile {
    id: StageId,
    tasks: Vec<TaskFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskFile {
    id: String,
    owner: Owner,
    due_days: Option<u32>,
    title: LocalizedText,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    format: u32,
    stages: BTreeMap<StageId, LocalizedText>,
    labels: BTreeMap<String, LocalizedText>,
}

type Texts = (BTreeMap<StageId, LocalizedText>, BTreeMap<String, LocalizedText>);

pub(super) fn parse_catalogue(text: &str) -> Result<Texts> {
    let fail = |reason: String| Error::Template {
        template: "catalogue.toml".into(),
        reason,
    };
    let file: CatalogueFile = toml::from_str(text).map_err(|e| fail(e.to_string()))?;
    if file.format != FORMAT {
        return Err(fail(format!("format {} is not {FORMAT}", file.format)));
    }
    for stage in StageId::ALL {
        if !file.stages.contains_key(stage) {
            return Err(fail(format!("no title for stage {stage}")));
        }
    }
    let texts = file.stages.iter().map(|(k, v)| (k.to_string(), v));
    for (key, text) in texts.chain(file.labels.iter().map(|(k, v)| (k.clone(), v))) {
        if let Some(problem) = text.problem() {
            return Err(fail(format!("{key}: {problem}")));
        }
    }
    Ok((file.stages, file.labels))
}

pub(super) fn parse_template(path: &str, text: &str) -> Result<Template> {
    let fail = |reason: String| Error::Template {
        template: path.to_owned(),
        reason,
    };
    let file: TemplateFile = toml::from_str(text).map_err(|e| fail(e.to_string()))?;
    if file.format != FORMAT {
        return Err(fail(format!("format {} is not {FORMAT}", file.format)));
    }
    let expected_path = format!("{}/v{}.toml", file.id, file.version);
    if path != expected_path {
        return Err(fail(format!(
            "id {} version {} belong in {expected_path}",
            file.id, file.version
        )));
    }
    if file.destination.len() != 2 || !file.destination.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(fail(format!(
            "destination {:?} is not an ISO 3166-1 alpha-2 code",
            file.destination
        )));
    }
    check_text(&fail, "name", &file.name)?;

    if file.pdo_modules.len() != PDO_MODULES {
        return Err(fail(format!(
            "{} PDO modules; the course has {PDO_MODULES}",
            file.pdo_modules.len()
        )));
    }
    let mut module_ids = BTreeSet::new();
    for module in &file.pdo_modules {
        check_id(&fail, &module.id)?;
        if !module_ids.insert(module.id.as_str()) {
            return Err(fail(format!("PDO module {} appears twice", module.id)));
        }
        check_text(&fail, &format!("module {}", module.id), &module.title)?;
    }

    let stage_ids: Vec<StageId> = file.stages.iter().map(|s| s.id).collect();
    if stage_ids != StageId::ALL {
        return Err(fail(format!(
            "stages must be exactly, in order: {}",
            StageId::ALL
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let mut task_ids = BTreeSet::new();
    for stage in &file.stages {
        if stage.tasks.is_empty() {
            return Err(fail(format!("stage {} has no tasks", stage.id)));
        }
        for task in &stage.tasks {
            check_id(&fail, &task.id)?;
            if !task_ids.insert(task.id.as_str()) {
                return Err(fail(format!("task {} appears twice", task.id)));
            }
            check_text(&fail, &format!("task {}", task.id), &task.title)?;
        }
    }

    Ok(Template {
        id: file.id,
        version: file.version,
        destination: file.destination,
        name: file.name,
        pdo_modules: file
            .pdo_modules
            .into_iter()
            .map(|m| ModuleTemplate {
                id: m.id,
                title: m.title,
            })
            .collect(),
        stages: file
            .stages
            .into_iter()
            .map(|s| StageTemplate {
                id: s.id,
                tasks: s
                    .tasks
                    .into_iter()
                    .map(|t| TaskTemplate {
                        id: t.id,
                        owner: t.owner,
                        due_days: t.due_days,
                        title: t.title,
                    })
                    .collect(),
            })
            .collect(),
    })
}

fn check_id(fail: &impl Fn(String) -> Error, id: &str) -> Result<()> {
    let mut bytes = id.bytes();
    let ok = bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(fail(format!("id {id:?} does not match [a-z][a-z0-9_]*")))
    }
}

fn check_text(fail: &impl Fn(String) -> Error, what: &str, text: &LocalizedText) -> Result<()> {
    match text.problem() {
        Some(problem) => Err(fail(format!("{what}: {problem}"))),
        None => Ok(()),
    }
}
