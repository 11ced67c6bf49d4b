import Foundation
import PassageFFI

// The records and enums of the generated layer, under the Passage module's names.
// They are plain, immutable-by-value, `Sendable` data; wrapping each in a copy would
// add nothing. Apps `import Passage` only: the generated module also declares `Store`,
// `Subscription`, `PassageError` and a `Locale` that would clash with Foundation's.

// MARK: Closed sets of values

/// The role a store is opened as; it decides what may be read and written.
public typealias Role = PassageFFI.Role
/// The languages of every text Passage hands over (`.en`, `.ar`, `.fr`). The generated
/// name is `Locale`, which would hide Foundation's; here it is `Language`.
public typealias Language = PassageFFI.Locale
public typealias DocKind = PassageFFI.DocKind
public typealias TaskStatus = PassageFFI.TaskStatus
public typealias Owner = PassageFFI.Owner
public typealias StageId = PassageFFI.StageId
public typealias PermitDecision = PassageFFI.PermitDecision
public typealias FitnessDecision = PassageFFI.FitnessDecision
public typealias Relation = PassageFFI.Relation
public typealias FamilyTravel = PassageFFI.FamilyTravel
public typealias PdoDayStatus = PassageFFI.PdoDayStatus
public typealias ModuleStatus = PassageFFI.ModuleStatus
public typealias StageProgress = PassageFFI.StageProgress
public typealias CriticalField = PassageFFI.CriticalField
public typealias ReminderKind = PassageFFI.ReminderKind
/// How far a history entry's author can be believed: `.vouched` (the server received
/// the change from the person and role it names), `.disputed` (from someone else: show
/// the vouched author) or `.unvouched` (not synced yet, or older than the server's
/// records).
public typealias Trust = PassageFFI.Trust

// MARK: Input

/// One change to a case; the store's role decides which are allowed. Dates are
/// `CalendarDate.description` text, local times `ZonedTime.description` text.
public typealias Edit = PassageFFI.Edit
/// A new journey from a destination's template (caseworkers).
public typealias NewJourney = PassageFFI.NewJourney
/// What an edit did.
public typealias Applied = PassageFFI.Applied

// MARK: Views

public typealias CaseSummary = PassageFFI.CaseSummary
public typealias JourneyView = PassageFFI.JourneyView
public typealias StageView = PassageFFI.StageView
public typealias TaskView = PassageFFI.TaskView
public typealias PermitView = PassageFFI.PermitView
public typealias TravelView = PassageFFI.TravelView
public typealias FlightEntry = PassageFFI.FlightEntry
public typealias FlightBooking = PassageFFI.FlightBooking
public typealias FlightSegment = PassageFFI.FlightSegment
public typealias Housing = PassageFFI.Housing
public typealias ArrivalMeeting = PassageFFI.ArrivalMeeting
public typealias PdoView = PassageFFI.PdoView
public typealias PdoDayView = PassageFFI.PdoDayView
public typealias PdoModuleView = PassageFFI.PdoModuleView
public typealias FamilyMemberEntry = PassageFFI.FamilyMemberEntry
public typealias FamilyMember = PassageFFI.FamilyMember
public typealias MedicalView = PassageFFI.MedicalView
public typealias AppointmentEntry = PassageFFI.AppointmentEntry
public typealias Appointment = PassageFFI.Appointment
public typealias MedicalTestEntry = PassageFFI.MedicalTestEntry
public typealias MedicalTest = PassageFFI.MedicalTest
public typealias VaccinationEntry = PassageFFI.VaccinationEntry
public typealias Vaccination = PassageFFI.Vaccination
public typealias Fitness = PassageFFI.Fitness
public typealias ArrivalPlanView = PassageFFI.ArrivalPlanView
public typealias Trip = PassageFFI.Trip
public typealias PlanStage = PassageFFI.PlanStage
public typealias Conflict = PassageFFI.Conflict
public typealias ConflictValue = PassageFFI.ConflictValue
public typealias HistoryEntry = PassageFFI.HistoryEntry
/// What the server vouched for about a change (`HistoryEntry.vouched`): the person of
/// the device it received the change from, that device's role (none for the server's
/// own changes), when, and whether this device delivered it (`own`).
public typealias Voucher = PassageFFI.Voucher
/// A local notification to schedule: what to say, and when (`notifyAt`); its `id` is
/// stable for the same event, so scheduling it again replaces it.
public typealias Reminder = PassageFFI.Reminder

// MARK: Sync

public typealias Enrolment = PassageFFI.Enrolment
public typealias SyncReport = PassageFFI.SyncReport
public typealias SyncStatus = PassageFFI.SyncStatus
public typealias HeldDocument = PassageFFI.HeldDocument

// MARK: - Language from the device's settings

extension Language {
    /// The Passage language for a language tag or locale identifier (`ar`, `ar-JO`,
    /// `fr_BE`...): Arabic, French, and English for everything else.
    public init(identifier: String) {
        self = Language(supporting: identifier) ?? .en
    }

    /// The Passage language for a Foundation locale.
    public init(_ locale: Foundation.Locale) {
        self.init(identifier: locale.identifier)
    }

    /// The first of the person's preferred languages that Passage has (a person who
    /// prefers German, then Arabic, gets Arabic), else English.
    public static var preferred: Language {
        for identifier in Foundation.Locale.preferredLanguages {
            if let language = Language(supporting: identifier) {
                return language
            }
        }
        return .en
    }

    private init?(supporting identifier: String) {
        switch identifier.lowercased().prefix(while: { $0.isLetter }) {
        case "ar": self = .ar
        case "fr": self = .fr
        case "en": self = .en
        default: return nil
        }
    }
}
