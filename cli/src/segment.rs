//! The text form of one flight segment on the command line:
//! `FLIGHT CARRIER FROM DEPARTS TO ARRIVES`, e.g.
//! `RJ131 Royal Jordanian AMM 2027-03-28T09:40[Asia/Amman] BRU 2027-03-28T12:55[Europe/Brussels]`.
//!
//! It reads like an itinerary line, so a caseworker can copy it from a booking
//! confirmation. The carrier may have spaces; everything else is one word, so the line
//! is read from both ends: the flight number first, then the last four words, and the
//! carrier is what remains in the middle. Each error names the part that is wrong.

use passage_core::doc::journey::FlightSegment;
use passage_core::time::ZonedDateTime;

const SHAPE: &str = "expected \"FLIGHT CARRIER FROM DEPARTS TO ARRIVES\", \
     e.g. \"RJ131 Royal Jordanian AMM 2027-03-28T09:40[Asia/Amman] BRU 2027-03-28T12:55[Europe/Brussels]\"";

/// Parses one segment; the error says which part is wrong and why.
pub(crate) fn parse(text: &str) -> Result<FlightSegment, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let [flight_number, middle @ .., from, departs, to, arrives] = words.as_slice() else {
        return Err(format!(
            "{} part(s) found, at least 6 needed; {SHAPE}",
            words.len()
        ));
    };
    if middle.is_empty() {
        return Err(format!("the carrier is missing; {SHAPE}"));
    }
    if !flight_number.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!(
            "flight number {flight_number:?}: only letters and digits, e.g. RJ131"
        ));
    }
    Ok(FlightSegment {
        carrier: middle.join(" "),
        flight_number: flight_number.to_ascii_uppercase(),
        from: airport("departure airport", from)?,
        to: airport("arrival airport", to)?,
        departs: time("departure time", departs)?,
        arrives: time("arrival time", arrives)?,
    })
}

fn airport(what: &str, code: &str) -> Result<String, String> {
    if code.len() == 3 && code.chars().all(|c| c.is_ascii_alphabetic()) {
        Ok(code.to_ascii_uppercase())
    } else {
        Err(format!(
            "{what} {code:?} is not a three-letter IATA code, e.g. AMM"
        ))
    }
}

fn time(what: &str, text: &str) -> Result<ZonedDateTime, String> {
    text.parse().map_err(|e| {
        format!(
            "{what} {text:?}: {}; write the local time and its zone as YYYY-MM-DDTHH:MM[Area/City]",
            crate::error::core_message(&e)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn reads_an_itinerary_line() {
        let s = parse(
            "RJ131 Royal Jordanian AMM 2027-03-28T09:40[Asia/Amman] BRU 2027-03-28T12:55[Europe/Brussels]",
        )
        .expect("valid segment");
        assert_eq!(s.flight_number, "RJ131");
        assert_eq!(s.carrier, "Royal Jordanian");
        assert_eq!((s.from.as_str(), s.to.as_str()), ("AMM", "BRU"));
        assert_eq!(s.departs.to_string(), "2027-03-28T09:40:00+03:00[Asia/Amman]");
        assert_eq!(
            s.arrives.to_string(),
            "2027-03-28T12:55:00+02:00[Europe/Brussels]"
        );
    }

    #[test]
    fn names_the_bad_part() {
        let cases = [
            ("RJ131 AMM 2027-03-28T09:40[Asia/Amman] BRU", "4 part(s) found"),
            (
                "RJ131 AMM 2027-03-28T09:40[Asia/Amman] BRU 2027-03-28T12:55[Europe/Brussels]",
                "carrier is missing",
            ),
            (
                "RJ131 RJ AMMAN 2027-03-28T09:40[Asia/Amman] BRU 2027-03-28T12:55[Europe/Brussels]",
                "departure airport \"AMMAN\"",
            ),
            (
                "RJ131 RJ AMM 2027-03-28T09:40[Asia/Aman] BRU 2027-03-28T12:55[Europe/Brussels]",
                "departure time",
            ),
            (
                "RJ131 RJ AMM 2027-03-28T09:40[Asia/Amman] BR1 2027-03-28T12:55[Europe/Brussels]",
                "arrival airport",
            ),
            (
                "RJ131 RJ AMM 2027-03-28T09:40[Asia/Amman] BRU 28/03/2027[Europe/Brussels]",
                "arrival time",
            ),
            (
                "RJ-131 RJ AMM 2027-03-28T09:40[Asia/Amman] BRU 2027-03-28T12:55[Europe/Brussels]",
                "flight number",
            ),
        ];
        for (input, expect) in cases {
            match parse(input) {
                Ok(s) => panic!("{input}: parsed as {s:?}"),
                Err(message) => assert!(message.contains(expect), "{input}: {message}"),
            }
        }
    }
}
