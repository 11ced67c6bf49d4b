#if canImport(UserNotifications)
import Foundation
import UserNotifications

extension Reminder {
    /// This reminder as a local notification request, for
    /// `UNUserNotificationCenter.current().add(_:)`. Its identifier is the reminder's
    /// `id`, so adding the reminders again after a sync replaces the earlier requests
    /// instead of doubling them. A reminder whose time has come fires a second after
    /// `now`.
    public func notificationRequest(now: Date = Date()) -> UNNotificationRequest {
        let content = UNMutableNotificationContent()
        content.title = title
        content.body = body
        content.sound = .default
        content.threadIdentifier = "passage.\(kind)"
        let trigger = UNTimeIntervalNotificationTrigger(
            timeInterval: max(1, notifyAt.timeIntervalSince(now)),
            repeats: false
        )
        return UNNotificationRequest(identifier: id, content: content, trigger: trigger)
    }
}
#endif
