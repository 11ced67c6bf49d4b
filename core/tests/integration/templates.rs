//! The template catalogue: every template instantiates, in every language.

use passage_core::doc::journey::Journey;
use passage_core::locale::Locale;
use passage_core::model::StageId;
use passage_core::template::Catalogue;
use passage_core::{Edit, Role};

use crate::support::{Dir, new_journey};

const DESTINATIONS: [(&str, &str); 6] = [
    ("be", "BE"),
    ("ie", "IE"),
    ("pt", "PT"),
    ("uk", "GB"),
    ("fr", "FR"),
    ("sk", "SK"),
];

#[test]
fn every_template_instantiates_in_each_language() {
    let catalogue = Catalogue::builtin().expect("built-in catalogue is valid");
    let ids: Vec<&str> = catalogue.template_ids().collect();
    for (id, country) in DESTINATIONS {
        assert!(ids.contains(&id), "template {id} missing from {ids:?}");
        assert_eq!(
            catalogue.latest(id).expect("template").destination,
            country,
            "{id}"
        );
    }
    let dir = Dir::new();
    let store = dir.open("templates.db", Role::Caseworker);
    for id in catalogue.template_ids() {
        for template in catalogue.versions(id).expect("versions") {
            let mut new = new_journey(id);
            new.version = Some(template.version);
            let case = store.create_journey(&new).expect("instantiates");
            let journey: Journey = store.journey(&case).expect("reads back");
            assert_eq!(journey.template.version as u64, template.version);
            assert_eq!(
                journey.stages.len(),
                StageId::ALL.len(),
                "{id} v{}",
                template.version
            );
            assert_eq!(journey.pdo.modules.len(), 5, "{id}");
            assert_eq!(journey.pdo.days.len(), 3, "{id}");
            let tasks: usize = journey.stages.values().map(|s| s.tasks.len()).sum();
            assert_eq!(tasks, template.task_count(), "{id}");
            for locale in Locale::ALL {
                for (stage, tasks) in journey.stages_in_order() {
                    assert!(!catalogue.stage_title(stage, *locale).trim().is_empty());
                    for (task_id, _) in tasks {
                        let title = journey.task_title(catalogue, task_id, *locale);
                        assert_ne!(
                            title, task_id,
                            "{id} v{}: no {locale} title for {task_id}",
                            template.version
                        );
                        if *locale == Locale::Ar {
                            assert!(
                                title.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)),
                                "{title}"
                            );
                        }
                    }
                }
                for module in journey.pdo.modules.keys() {
                    let title = catalogue.module_title(id, template.version, module, *locale);
                    assert!(
                        title.is_some_and(|t| !t.trim().is_empty()),
                        "{id}: module {module} in {locale}"
                    );
                }
                assert!(!template.name.get(*locale).trim().is_empty());
            }
        }
    }
}

#[test]
fn every_label_the_code_uses_exists() {
    use passage_core::conflict::CriticalField;
    use passage_core::model::*;
    let catalogue = Catalogue::builtin().expect("valid");
    let mut keys: Vec<String> = Vec::new();
    keys.extend(TaskStatus::ALL.iter().map(|v| v.label_key()));
    keys.extend(Owner::ALL.iter().map(|v| v.label_key()));
    keys.extend(Role::ALL.iter().map(|v| v.label_key()));
    keys.extend(Relation::ALL.iter().map(|v| v.label_key()));
    keys.extend(FamilyTravel::ALL.iter().map(|v| v.label_key()));
    keys.extend(PdoDayStatus::ALL.iter().map(|v| v.label_key()));
    keys.extend(ModuleStatus::ALL.iter().map(|v| v.label_key()));
    keys.extend(PermitDecision::ALL.iter().map(|v| v.label_key()));
    keys.extend(FitnessDecision::ALL.iter().map(|v| v.label_key()));
    keys.extend(StageProgress::ALL.iter().map(|v| v.label_key()));
    keys.extend(CriticalField::ALL.iter().map(|v| v.label_key()));
    let missing: Vec<&String> = keys.iter().filter(|k| !catalogue.has_label(k)).collect();
    assert!(
        missing.is_empty(),
        "labels missing from catalogue.toml: {missing:?}"
    );
}

/// Data-driven checks of template validation: each broken file is refused with a
/// reason naming the problem.
#[test]
fn malformed_templates_are_refused_with_a_reason() {
    let catalogue = include_str!("../../templates/catalogue.toml");
    let good = include_str!("../../templates/be/v1.toml");
    let check = |path: &str, text: &str, expect: &str| {
        let err = Catalogue::parse(catalogue, &[(path, text)])
            .expect_err(path)
            .to_string();
        assert!(err.contains(expect), "{path}: {err}");
    };
    check("be/v2.toml", good, "belong in be/v1.toml");
    check(
        "be/v1.toml",
        &good.replacen("format = 1", "format = 9", 1),
        "format 9",
    );
    check(
        "be/v1.toml",
        &good.replacen("destination = \"BE\"", "destination = \"Belgium\"", 1),
        "ISO 3166",
    );
    check(
        "be/v1.toml",
        &good.replacen("id = \"matching\"", "id = \"job_offer\"", 1),
        "stages must be exactly",
    );
    check(
        "be/v1.toml",
        &good.replacen("owner = \"talent\"", "owner = \"mayor\"", 1),
        "mayor",
    );
    check("be/v1.toml", &format!("{good}\nsurprise = true\n"), "surprise");
    let start = good.find("ar = \"").expect("has Arabic");
    let end = start + 6 + good[start + 6..].find('"').expect("closing quote");
    let latin_only = format!("{}ar = \"Belgium{}", &good[..start], &good[end..]);
    check("be/v1.toml", &latin_only, "no Arabic letters");
    let blank_fr = good.replacen("fr = \"Belgique\"", "fr = \"  \"", 1);
    check("be/v1.toml", &blank_fr, "the fr text is empty");
    assert!(Catalogue::parse(catalogue, &[("be/v1.toml", good)]).is_ok());
    check(
        "be/v2.toml",
        &good.replacen("version = 1", "version = 2", 1),
        "versions must run 1, 2, 3",
    );
}

#[test]
fn moving_to_a_newer_template_keeps_all_progress() {
    let dir = Dir::new();
    let store = dir.open("upgrade.db", Role::Caseworker);
    let mut new = new_journey("be");
    new.version = Some(1);
    let case = store.create_journey(&new).expect("v1 journey");
    let done = [("print_documents", "printed twice"), ("attend_medical_exam", "")];
    for (task, notes) in done {
        store
            .apply(
                &case,
                &Edit::SetTaskStatus {
                    task: task.into(),
                    status: passage_core::model::TaskStatus::Done,
                },
            )
            .expect("done");
        store
            .apply(
                &case,
                &Edit::SetTaskNotes {
                    task: task.into(),
                    notes: notes.into(),
                },
            )
            .expect("notes");
    }
    let before = store.journey(&case).expect("read");
    let applied = store.apply(&case, &Edit::UpgradeTemplate).expect("upgrade");
    let report = applied.upgrade.expect("report");
    assert_eq!((report.from_version, report.to_version), (1, 2));
    assert_eq!(
        report.added_tasks,
        vec![
            "sign_housing_agreement".to_owned(),
            "open_bank_account".to_owned()
        ]
    );
    assert_eq!(report.retired_tasks, vec!["print_documents".to_owned()]);

    drop(store);
    let store = dir.open("upgrade.db", Role::Caseworker);
    let after = store.journey(&case).expect("read");
    assert_eq!(after.template.version, 2);
    for (stage, tasks) in before.stages_in_order() {
        for (id, old) in tasks {
            let (new_stage, new) = after.task(id).expect("no task lost");
            assert_eq!(new_stage, stage);
            assert_eq!(
                (new.status, &new.notes, new.completed_at, &new.completed_by),
                (old.status, &old.notes, old.completed_at, &old.completed_by),
                "{id}"
            );
        }
    }
    let (_, retired) = after.task("print_documents").expect("kept");
    assert!(retired.retired);
    let catalogue = store.catalogue().expect("catalogue");
    assert_ne!(
        after.task_title(catalogue, "print_documents", passage_core::Locale::Fr),
        "print_documents"
    );
    let err = store
        .apply(&case, &Edit::UpgradeTemplate)
        .expect_err("already newest");
    assert_eq!(err.kind(), passage_core::ErrorKind::InvalidInput);
}
