//! The medical record as text. Health data (GDPR Art. 9): this is only ever reached
//! after the core let the role read the medical document.

use passage_core::doc::medical::Medical;

use super::{Text, heading, label, opt_date, or_dash, put, zoned};

pub(crate) fn medical(t: &Text, m: &Medical) -> String {
    let mut out = String::new();
    put!(out, "{}", t.field(label::HEADING_MEDICAL, &m.case_id));
    let f = &m.fitness;
    let mut fitness = vec![t.word(&f.decision)];
    if let Some(on) = f.decided_on {
        fitness.push(on.to_string());
    }
    if f.valid_until.is_some() {
        fitness.push(t.field(label::FIELD_VALID_UNTIL, opt_date(f.valid_until)));
    }
    put!(out, "  {}", t.field(label::FIELD_FITNESS, fitness.join(" · ")));

    heading(&mut out, &t.label(label::HEADING_APPOINTMENTS));
    let appointments = m.appointments_in_order();
    if appointments.is_empty() {
        put!(out, "  —");
    }
    for (id, a) in appointments {
        put!(out, "  {id}: {}", zoned(&a.at));
        put!(out, "      {}", t.field(label::FIELD_CLINIC, &a.clinic));
        if !a.purpose.trim().is_empty() {
            put!(out, "      {}", a.purpose);
        }
    }

    heading(&mut out, &t.label(label::HEADING_TESTS));
    let mut tests: Vec<_> = m.tests.iter().collect();
    tests.sort_by_key(|(id, test)| (test.date, id.as_str()));
    if tests.is_empty() {
        put!(out, "  —");
    }
    for (id, test) in tests {
        put!(
            out,
            "  {id}: {} · {} · {}",
            test.date,
            test.name,
            or_dash(&test.result)
        );
    }

    heading(&mut out, &t.label(label::HEADING_VACCINATIONS));
    let mut vaccinations: Vec<_> = m.vaccinations.iter().collect();
    vaccinations.sort_by_key(|(id, v)| (v.date, id.as_str()));
    if vaccinations.is_empty() {
        put!(out, "  —");
    }
    for (id, v) in vaccinations {
        put!(out, "  {id}: {} · {}", v.date, v.name);
    }
    out
}
