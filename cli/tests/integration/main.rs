//! The integration tests of `passage-cli`: one binary that runs the real `passage`
//! executable on store files in temporary directories, the way a person or a script
//! uses it.

mod cli;

mod kill;
mod reminders;
mod sync;
