//! The grammar of the `passage` command line, as clap derive types.
//!
//! Values from the core's closed vocabularies (task statuses, roles, relations...) are
//! parsed by the core's own `FromStr`, so the words a person types are the words stored
//! in documents, and `--help` lists them. Dates, times and flight segments are parsed
//! here, before any store is opened, so a typing mistake never costs a disk write.

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use clap::builder::TypedValueParser;
use clap::{ArgAction, ArgGroup, Args, Parser, Subcommand};
use passage_core::doc::journey::FlightSegment;
use passage_core::model::{
    FamilyTravel, FitnessDecision, ModuleStatus, PdoDayStatus, PermitDecision, Relation, TaskStatus,
};
use passage_core::time::ZonedDateTime;
use passage_core::{CaseId, Locale, Role};

use crate::segment;

/// A value parser for one of the core's closed vocabularies: clap offers the words in
/// `--help` and completions, and the core's `FromStr` makes the typed value.
macro_rules! words {
    ($ty:ty) => {
        clap::builder::PossibleValuesParser::new(<$ty>::ALL.iter().map(|v| v.as_str()))
            .try_map(|s: String| s.parse::<$ty>().map_err(|e| crate::error::core_message(&e)))
    };
}

const AFTER_HELP: &str = "\
Identity and store: --store (PASSAGE_STORE), --role (PASSAGE_ROLE), --name (PASSAGE_NAME) and
--lang (PASSAGE_LANG). The store is sealed at rest under a key kept apart from it, in --key-dir
(PASSAGE_KEY_DIR): keep that directory, or the store cannot be opened again. --name is the name written into the history; it goes before the
subcommand, because subcommands use --name for other people (a family member, a vaccine).

Sync: `passage enrol CODE --server URL` once (the device then acts as the role the code was
issued for, unless --role says otherwise), then `passage sync` whenever there is a network;
`passage sync --status` shows the last success, the last error and what waits to be sent.

Exit codes: 0 done; 2 invalid input or usage (also a refused enrolment code); 3 not allowed
for this role (also a change the server refused); 4 not found; 5 corrupt or newer data, or
an answer from the server that breaks the protocol; 6 storage error (also a store whose key is
missing or wrong); 7 the server could not
be reached or is busy: sync again later (nothing was lost); 8 not enrolled, or the server no
longer accepts this device: enrol it again with a new code.";

/// A Passage device in a terminal: a displaced talent's journey to a job in Europe,
/// kept offline in a local store.
#[derive(Debug, Parser)]
#[command(name = "passage", version, after_help = AFTER_HELP)]
pub(crate) struct Cli {
    /// The store file [default: <user data dir>/passage/passage.db]
    #[arg(long, env = "PASSAGE_STORE", value_name = "PATH", global = true)]
    pub(crate) store: Option<PathBuf>,

    /// Who is using this device: decides what may be read and changed [default: the
    /// role the device was enrolled as, else caseworker]
    #[arg(long, env = "PASSAGE_ROLE", value_parser = words!(Role), global = true)]
    pub(crate) role: Option<Role>,

    /// Your name, written into the history of every change [default: $USER, else the role]
    #[arg(long, env = "PASSAGE_NAME", value_name = "NAME")]
    pub(crate) name: Option<String>,

    /// Language of the text shown
    #[arg(long, env = "PASSAGE_LANG", default_value = "en", value_parser = words!(Locale), global = true)]
    pub(crate) lang: Locale,

    /// The case to act on; may be left out when the store holds exactly one
    #[arg(long = "case", env = "PASSAGE_CASE", value_name = "ID", value_parser = case_id, global = true)]
    pub(crate) case: Option<CaseId>,

    /// Print machine-readable JSON instead of text
    #[arg(long, global = true)]
    pub(crate) json: bool,

    /// Where the keys of this device's stores are kept, one file per store (the
    /// store files are sealed under them) [default: <user config dir>/passage/keys]
    #[arg(long, env = "PASSAGE_KEY_DIR", value_name = "DIR", global = true)]
    pub(crate) key_dir: Option<PathBuf>,

    /// Trust only these server keys for enrolment and sync, instead of certificate
    /// authorities: sha256/BASE64 each (passage-server prints its own); give the
    /// server's and a backup key's. Repeat, or separate with commas. Kept in the store:
    /// later runs use them without the flag
    #[arg(long = "pin", env = "PASSAGE_PINS", value_name = "PIN", value_delimiter = ',', global = true,
          value_parser = |s: &str| s.parse::<passage_core::sync::SpkiPin>().map_err(|e| crate::error::core_message(&e)))]
    pub(crate) pins: Vec<passage_core::sync::SpkiPin>,

    /// Allow plain http:// to a server on another machine (the token and the case
    /// cross the network in the clear): for tests on a private network only
    #[arg(long, env = "PASSAGE_INSECURE_PLAIN_HTTP", global = true)]
    pub(crate) insecure_plain_http: bool,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create a journey from a destination template, then show it
    New(NewArgs),
    /// List the journey templates built into this device
    Templates,
    /// List the cases on this device, with their progress
    Cases,
    /// Show the journey: tasks by stage, permit, travel, orientation, family
    Show,
    /// List the tasks of the journey
    Tasks {
        /// Hide tasks that are done or not applicable
        #[arg(long)]
        open: bool,
    },
    /// Change a task
    #[command(subcommand)]
    Task(TaskCmd),
    /// Record the decision on the work permit
    Permit {
        #[arg(value_name = "STATUS", value_parser = words!(PermitDecision))]
        decision: PermitDecision,
        /// The date of the decision (YYYY-MM-DD)
        #[arg(long, value_name = "DATE", value_parser = date)]
        on: Option<NaiveDate>,
    },
    /// Add or change flight bookings
    #[command(subcommand)]
    Flight(FlightCmd),
    /// Set the temporary housing
    Housing(HousingArgs),
    /// Set who meets the talent on arrival, and where
    Meeting(MeetingArgs),
    /// Schedule and record the pre-departure orientation
    #[command(subcommand)]
    Pdo(PdoCmd),
    /// Add or remove family members
    #[command(subcommand)]
    Family(FamilyCmd),
    /// Read and record the medical check (health data: never for family)
    #[command(subcommand)]
    Medical(MedicalCmd),
    /// List concurrent values of critical fields, or choose one
    Conflicts {
        #[command(subcommand)]
        action: Option<ConflictsCmd>,
    },
    /// Show who changed what, and when
    History,
    /// Write the case as JSON (format passage.case-export, version 1)
    Export {
        /// Write to this file instead of standard output
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Show the arrival plan: what family members may know
    ArrivalPlan,
    /// List the reminders to come, as the apps schedule them: flights, appointments,
    /// orientation days and due tasks
    Reminders(RemindersArgs),
    /// Move the journey to the newest version of its template, keeping all progress
    Upgrade,
    /// Fold the case's change rows into snapshots, and show the store before and after
    Compact,
    /// Enrol this device with a sync server, using a code from a caseworker
    Enrol(EnrolArgs),
    /// Send this device's changes to the server and receive the others' (every case)
    Sync {
        /// Only show how the last sync went and what waits to be sent
        #[arg(long)]
        status: bool,
    },
    /// Tools for testing the store
    #[command(subcommand, hide = true)]
    Debug(DebugCmd),
}

#[derive(Debug, Args)]
pub(crate) struct NewArgs {
    /// Template id, e.g. be (see `passage templates`)
    #[arg(long, value_name = "ID")]
    pub(crate) template: String,
    /// Template version [default: the newest]
    #[arg(long, value_name = "N")]
    pub(crate) version: Option<u64>,
    /// The talent's name
    #[arg(long, value_name = "NAME")]
    pub(crate) talent: String,
    /// The employer
    #[arg(long, value_name = "NAME")]
    pub(crate) employer: String,
    /// The job title
    #[arg(long, value_name = "TITLE")]
    pub(crate) job: String,
    /// The job offer date; due dates count from it (YYYY-MM-DD) [default: today]
    #[arg(long, value_name = "DATE", value_parser = date)]
    pub(crate) start: Option<NaiveDate>,
}

#[derive(Debug, Args)]
pub(crate) struct RemindersArgs {
    /// The instant to look ahead from, RFC 3339 (e.g. 2027-03-20T12:00:00Z) [default: now]
    #[arg(long = "at", value_name = "INSTANT", value_parser = instant)]
    pub(crate) at: Option<DateTime<Utc>>,
    /// The IANA time zone of the device, for all-day dates and the times shown, e.g.
    /// Asia/Beirut [default: the machine's zone (TZ, else /etc/localtime), else UTC]
    #[arg(long, value_name = "ZONE", value_parser = zone)]
    pub(crate) zone: Option<Tz>,
}

#[derive(Debug, Args)]
pub(crate) struct EnrolArgs {
    /// The one-time enrolment code, e.g. K7QF-M2XD-9TRA
    pub(crate) code: String,
    /// The sync server's address, e.g. https://sync.example.org
    #[arg(long, env = "PASSAGE_SERVER", value_name = "URL")]
    pub(crate) server: String,
    /// How this device is listed on the server [default: "<your name> (terminal)"]
    #[arg(long, value_name = "NAME")]
    pub(crate) device_name: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TaskCmd {
    /// Mark a task done
    Done { task: String },
    /// Set a task's status
    Status {
        task: String,
        #[arg(value_parser = words!(TaskStatus))]
        status: TaskStatus,
    },
    /// Replace a task's notes
    Note { task: String, text: String },
    /// Set a task's due date, or clear it with `none`
    Due {
        task: String,
        #[arg(value_name = "YYYY-MM-DD|none", value_parser = due_date)]
        due: DueDate,
    },
}

const SEGMENT_HELP: &str = "\
A flight segment, as one argument:
  \"FLIGHT CARRIER FROM DEPARTS TO ARRIVES\"
e.g. \"RJ131 Royal Jordanian AMM 2027-03-28T09:40[Asia/Amman] BRU 2027-03-28T12:55[Europe/Brussels]\"
  FLIGHT   the flight number (RJ131)
  CARRIER  the airline; may have spaces (Royal Jordanian)
  FROM/TO  three-letter IATA airport codes (AMM, BRU)
  DEPARTS/ARRIVES  the local time at that airport and its IANA zone, without spaces:
           YYYY-MM-DDTHH:MM[Area/City]
Repeat --segment for each flight of the trip, in order.";

#[derive(Debug, Subcommand)]
pub(crate) enum FlightCmd {
    /// Add a booking: one trip of one or more flight segments
    Add {
        /// The airline's booking reference
        #[arg(long = "ref", value_name = "REF")]
        reference: String,
        /// A person on the booking (repeat for each) [default: the talent]
        #[arg(long = "traveller", value_name = "NAME")]
        travellers: Vec<String>,
        /// A flight segment: "FLIGHT CARRIER FROM DEPARTS TO ARRIVES" (see --help)
        #[arg(long = "segment", value_name = "SEGMENT", required = true, value_parser = segment::parse, long_help = SEGMENT_HELP)]
        segments: Vec<FlightSegment>,
    },
    /// Change the departure or arrival time of one segment of a booking
    #[command(group(ArgGroup::new("times").required(true).multiple(true).args(["departs", "arrives"])))]
    Times {
        /// The booking id, as shown by `passage show`
        booking: String,
        /// The segment number, as shown by `passage show` (1 = first)
        segment: usize,
        /// New local departure time: YYYY-MM-DDTHH:MM[Area/City]
        #[arg(long, value_name = "TIME", value_parser = time)]
        departs: Option<ZonedDateTime>,
        /// New local arrival time: YYYY-MM-DDTHH:MM[Area/City]
        #[arg(long, value_name = "TIME", value_parser = time)]
        arrives: Option<ZonedDateTime>,
    },
    /// Allow or forbid the talent to enter their own bookings
    AllowSelfBooking {
        #[arg(value_name = "true|false", action = ArgAction::Set, value_parser = clap::value_parser!(bool))]
        allowed: bool,
    },
}

#[derive(Debug, Args)]
pub(crate) struct HousingArgs {
    #[arg(long, value_name = "ADDRESS")]
    pub(crate) address: String,
    #[arg(long, value_name = "CITY")]
    pub(crate) city: String,
    /// First night (YYYY-MM-DD)
    #[arg(long, value_name = "DATE", value_parser = date)]
    pub(crate) from: Option<NaiveDate>,
    /// Last night (YYYY-MM-DD)
    #[arg(long, value_name = "DATE", value_parser = date)]
    pub(crate) until: Option<NaiveDate>,
}

#[derive(Debug, Args)]
pub(crate) struct MeetingArgs {
    /// The person who meets the talent
    #[arg(long, value_name = "NAME")]
    pub(crate) name: String,
    #[arg(long, value_name = "ORGANISATION")]
    pub(crate) organisation: String,
    #[arg(long, value_name = "PHONE")]
    pub(crate) phone: String,
    /// Where they meet, e.g. the arrivals hall's meeting point
    #[arg(long, value_name = "PLACE")]
    pub(crate) place: String,
}

#[derive(Debug, Subcommand)]
pub(crate) enum PdoCmd {
    /// Set the dates of the three course days (YYYY-MM-DD each)
    Schedule {
        #[arg(value_parser = date)]
        day1: NaiveDate,
        #[arg(value_parser = date)]
        day2: NaiveDate,
        #[arg(value_parser = date)]
        day3: NaiveDate,
    },
    /// Record attendance of one course day (1 to 3)
    Attend {
        day: u8,
        #[arg(value_parser = words!(PdoDayStatus))]
        status: PdoDayStatus,
    },
    /// Record progress through one module (ids as shown by `passage show`)
    Module {
        module: String,
        #[arg(value_parser = words!(ModuleStatus))]
        status: ModuleStatus,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum FamilyCmd {
    /// Add a family member
    Add {
        #[arg(long, value_name = "NAME")]
        name: String,
        #[arg(long, value_parser = words!(Relation))]
        relation: Relation,
        #[arg(long, value_parser = words!(FamilyTravel))]
        travel: FamilyTravel,
    },
    /// Remove a family member (id as shown by `passage show`)
    Remove { id: String },
}

#[derive(Debug, Subcommand)]
pub(crate) enum MedicalCmd {
    /// Show the medical record
    Show,
    /// Add an appointment
    Appointment {
        #[arg(long, value_name = "CLINIC")]
        clinic: String,
        /// Local time at the clinic: YYYY-MM-DDTHH:MM[Area/City]
        #[arg(long, value_name = "TIME", value_parser = time)]
        at: ZonedDateTime,
        #[arg(long, value_name = "PURPOSE", default_value = "")]
        purpose: String,
    },
    /// Move an appointment (id as shown by `passage medical show`)
    Reschedule {
        id: String,
        /// Local time at the clinic: YYYY-MM-DDTHH:MM[Area/City]
        #[arg(long, value_name = "TIME", value_parser = time)]
        at: ZonedDateTime,
    },
    /// Record a test and its result
    Test {
        #[arg(long, value_name = "NAME")]
        name: String,
        #[arg(long, value_name = "DATE", value_parser = date)]
        date: NaiveDate,
        #[arg(long, value_name = "RESULT")]
        result: String,
    },
    /// Record a vaccination
    Vaccination {
        /// The vaccine
        #[arg(long, value_name = "NAME")]
        name: String,
        #[arg(long, value_name = "DATE", value_parser = date)]
        date: NaiveDate,
    },
    /// Record the fit-to-travel decision
    Fitness {
        #[arg(value_parser = words!(FitnessDecision))]
        decision: FitnessDecision,
        /// The date of the decision (YYYY-MM-DD)
        #[arg(long, value_name = "DATE", value_parser = date)]
        on: Option<NaiveDate>,
        /// The certificate's last valid day (YYYY-MM-DD)
        #[arg(long, value_name = "DATE", value_parser = date)]
        valid_until: Option<NaiveDate>,
    },
    /// Erase the case's medical record here, then on the server and every device at
    /// their next sync (caseworkers; GDPR Art. 17). It cannot be undone: --yes says you
    /// mean it
    Erase {
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConflictsCmd {
    /// Keep one of a conflict's values (numbered from 1, as `passage conflicts` lists them)
    Resolve { conflict: String, pick: usize },
}

#[derive(Debug, Subcommand)]
pub(crate) enum DebugCmd {
    /// Add family members in a loop, printing `ok LABEL-I` after each committed edit
    Churn {
        /// How many edits [default: until killed]
        #[arg(long, value_name = "N")]
        count: Option<u64>,
        /// Prefix of the members' names
        #[arg(long, value_name = "L", default_value = "churn")]
        label: String,
    },
}

/// A due date, or none: a newtype because clap reads `Option` as "may be left out".
#[derive(Clone, Copy, Debug)]
pub(crate) struct DueDate(pub(crate) Option<NaiveDate>);

fn date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|e| format!("{s:?} is not a date YYYY-MM-DD ({e})"))
}

fn due_date(s: &str) -> Result<DueDate, String> {
    if s.trim().eq_ignore_ascii_case("none") {
        Ok(DueDate(None))
    } else {
        date(s).map(|d| DueDate(Some(d)))
    }
}

pub(crate) fn time(s: &str) -> Result<ZonedDateTime, String> {
    s.parse().map_err(|e| crate::error::core_message(&e))
}

fn instant(s: &str) -> Result<DateTime<Utc>, String> {
    passage_core::time::parse_instant(s.trim()).map_err(|e| crate::error::core_message(&e))
}

fn zone(s: &str) -> Result<Tz, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("{s:?} is not an IANA time zone such as Europe/Brussels"))
}

fn case_id(s: &str) -> Result<CaseId, String> {
    s.parse().map_err(|e| crate::error::core_message(&e))
}
