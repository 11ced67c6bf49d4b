//! Travel: flight bookings, the temporary housing and who meets the talent.

use passage_core::doc::journey::{ArrivalMeeting, FlightBooking, Housing};
use passage_core::{Action, Edit};

use crate::args::{FlightCmd, HousingArgs, MeetingArgs};
use crate::context::Ctx;
use crate::error::{CliError, Result};
use crate::render::{journey, label};

pub(crate) fn flight(ctx: &Ctx, cmd: FlightCmd) -> Result<()> {
    let t = ctx.text;
    match cmd {
        FlightCmd::Add {
            reference,
            travellers,
            segments,
        } => {
            let store = ctx.open()?;
            let case = ctx.select(&store, Action::ReadJourney)?;
            // A booking names who travels; most are the talent alone, so that is the
            // default rather than an empty list.
            let travellers = if travellers.is_empty() {
                vec![store.journey(&case)?.talent_name]
            } else {
                travellers
            };
            let edit = Edit::AddFlight {
                booking: FlightBooking {
                    booking_reference: reference,
                    travellers,
                    segments,
                },
            };
            ctx.edit_on(&store, &case, &edit, |a| {
                t.field(label::DONE_FLIGHT_ADDED, a.created.as_deref().unwrap_or_default())
            })
        }
        FlightCmd::Times {
            booking,
            segment,
            departs,
            arrives,
        } => {
            // Segments are numbered from 1 on screen and in this command; the core
            // counts from 0.
            let index = segment
                .checked_sub(1)
                .ok_or_else(|| CliError::Input("segments are numbered from 1".into()))?;
            let edit = Edit::ChangeFlightTimes {
                booking: booking.clone(),
                segment: index,
                departs,
                arrives,
            };
            ctx.edit(&edit, |_| {
                let which = format!("{booking} · {}", t.field(label::FIELD_SEGMENT, segment));
                t.field(label::DONE_FLIGHT_TIMES_CHANGED, which)
            })
        }
        FlightCmd::AllowSelfBooking { allowed } => {
            let edit = Edit::AllowSelfBooking { allowed };
            ctx.edit(&edit, |_| journey::self_booking(&t, allowed))
        }
    }
}

pub(crate) fn housing(ctx: &Ctx, args: HousingArgs) -> Result<()> {
    let edit = Edit::SetHousing {
        housing: Housing {
            address: args.address,
            city: args.city,
            from: args.from,
            until: args.until,
        },
    };
    let t = ctx.text;
    ctx.edit(&edit, |_| {
        format!(
            "{}: {}",
            t.label(label::HEADING_HOUSING),
            t.label(label::DONE_SAVED)
        )
    })
}

pub(crate) fn meeting(ctx: &Ctx, args: MeetingArgs) -> Result<()> {
    let edit = Edit::SetArrivalMeeting {
        meeting: ArrivalMeeting {
            name: args.name,
            organisation: args.organisation,
            phone: args.phone,
            place: args.place,
        },
    };
    let t = ctx.text;
    ctx.edit(&edit, |_| {
        format!(
            "{}: {}",
            t.label(label::HEADING_MEETING),
            t.label(label::DONE_SAVED)
        )
    })
}
