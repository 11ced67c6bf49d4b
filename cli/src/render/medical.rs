//! The medical record as text. Health data (GDPR Art. 9): this is only ever reached
//! after the core let the role read the medical document.

use passage_core::doc::medical::Medical;

use super::{Text, heading, opt_date, or_dash, put, zoned};

pub(crate) fn medical(t: &Text, m: &Medical) -> String {
    let mut out = String::new();
    put!(out, "{}", t.field("heading.medical", "Medical", &m.case_id));
    let f = &m.fitness;
    let mut fitness = vec![t.word(&f.decision)];
    if let Some(on) = f.decided_on {
        fitness.push(on.to_string());
    }
    if f.valid_until.is_some() {
        fitness.push(t.field("field.valid_until", "Valid until", opt_date(f.valid_until)));
    }
    put!(
        out,
        "  {}",
        t.field("field.fitness", "Fitness to travel", fitness.join(" · "))
    );

    heading(&mut out, &t.label("heading.appointments", "Appointments"));
    let appointments = m.appointments_in_order();
    if appointments.is_empty() {
        put!(out, "  —");
    }
    for (id, a) in appointments {
        put!(out, "  {id}: {}", zoned(&a.at));
        put!(out, "      {}", t.field("field.clinic", "Clinic", &a.clinic));
        if !a.purpose.trim().is_empty() {
            put!(out, "      {}", a.purpose);
        }
    }

    heading(&mut out, "Tests");
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

    heading(&mut out, "Vaccinations");
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
