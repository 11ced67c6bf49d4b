//! [`Store::reminders`]: the upcoming reminders of one case, from what this device
//! holds, for the app to schedule as local notifications while offline.
//!
//! The rules are in [`crate::reminder`]; this only decides what the store's role lets
//! into them, and whose tasks: a talent's phone announces only the talent's own. Reminders are built from the journey, so a role that may not read the
//! journey (family) gets the same typed refusal as for [`Store::journey`]; appointments
//! come from the medical record only for a role that may read it.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::Store;
use crate::access::{Action, Role};
use crate::doc::journey::Journey;
use crate::doc::medical::Medical;
use crate::error::{Error, Result};
use crate::ids::{CaseId, DocKind};
use crate::locale::Locale;
use crate::model::Owner;
use crate::reminder::{self, Reminder, ReminderKind};

impl Store {
    /// The reminders of `case` still to come after `now`, in `locale`, with all-day
    /// events (PDO days, due dates) placed in `home_zone`. Sorted by notification time.
    ///
    /// A medical record not on this device yet (the journey arrived in an earlier sync
    /// round) gives no appointment reminders rather than no reminders at all: the
    /// flight must still be announced.
    pub fn reminders(
        &self,
        case: &CaseId,
        now: DateTime<Utc>,
        home_zone: Tz,
        locale: Locale,
    ) -> Result<Vec<Reminder>> {
        let catalogue = self.catalogue()?;
        let (journey, medical, role) = {
            let mut inner = self.lock();
            let role = inner.identity.role;
            role.require(Action::ReadJourney)?;
            let journey: Journey = inner.read(&case.doc(DocKind::Journey))?;
            let medical: Option<Medical> = if role.may(Action::ReadMedical) {
                match inner.read(&case.doc(DocKind::Medical)) {
                    Ok(medical) => Some(medical),
                    Err(Error::NotFound(_)) => None,
                    Err(e) => return Err(e),
                }
            } else {
                None
            };
            (journey, medical, role)
        };
        let mut reminders = reminder::upcoming(&journey, medical.as_ref(), catalogue, locale, home_zone, now);
        if role == Role::Talent {
            // A talent's phone announces the talent's own tasks; "meet the talent at
            // the airport" is for the employer, and the caseworker follows up on all.
            reminders.retain(|r| {
                r.kind != ReminderKind::TaskDue
                    || r.id
                        .strip_prefix("task/")
                        .and_then(|task| journey.task(task))
                        .is_some_and(|(_, task)| task.owner == Owner::Talent)
            });
        }
        Ok(reminders)
    }
}
