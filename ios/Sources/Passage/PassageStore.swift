import Foundation
import PassageFFI

/// One Passage store file, opened as one role: the cases on this device, their
/// journeys, medical records and arrival plans, the edits made here, and sync.
///
/// ```swift
/// let store = try PassageStore(
///     path: appSupport.appendingPathComponent("passage.db"),
///     role: .talent, name: "Rana Haddad",
///     keys: KeychainKeyProvider()
/// )
/// let journey = try store.journey(caseId: caseId, locale: .preferred)
/// try store.apply(.setTaskStatus(task: "complete_talent_profile", status: .done), to: caseId)
/// let report = try await store.sync()
/// for await caseIds in store.caseChanges { refresh(caseIds) }
/// ```
///
/// Every method throws ``PassageStoreError`` only. Reads and edits are synchronous and
/// short (SQLite on this device); call them off the main actor when a screen must not
/// wait. `enrol` and `sync` are `async`: their network and disk work runs on a small
/// runtime inside the library, never on Swift's cooperative pool. The object is
/// `Sendable`: share one per store file between tasks and threads; calls may overlap.
///
/// ``close()`` releases the file (also done when the object goes away). A sync still
/// running keeps the store open until it finishes; any later call throws `.closed`.
public final class PassageStore: Sendable {
    /// The store file.
    public let path: URL
    /// The role the store was opened as.
    public let role: Role

    private struct State {
        var store: PassageFFI.Store?
        /// How to finish each stream handed out, when the store closes.
        var finishers: [UInt64: @Sendable () -> Void] = [:]
        var nextStream: UInt64 = 0
    }

    private let state: Locked<State>

    /// Opens the store at `path` as `role` (creating it, and its directory, if needed).
    ///
    /// - Parameters:
    ///   - name: written into the history of every change made on this device.
    ///   - keys: asked for the store's key first. A store that was given another key
    ///     fails with `.wrongKey`; a store enrolled as another role with `.invalidInput`.
    public init(path: URL, role: Role, name: String, keys: some StoreKeyProvider) throws(PassageStoreError) {
        let store: PassageFFI.Store
        do {
            store = try PassageFFI.Store.open(
                path: path.path, role: role, name: name, keys: KeyProviderBridge(keys)
            )
        } catch {
            throw PassageStoreError(converting: error)
        }
        self.path = path
        self.role = role
        self.state = Locked(State(store: store))
    }

    deinit {
        finish(closing())
    }

    // MARK: The store's key

    /// The store's stable id (32 hex characters): what the ``StoreKeyProvider`` is asked
    /// with. It is kept inside the store file, so it stays the same when the file, or
    /// the app's container, moves.
    public func storeId() throws(PassageStoreError) -> String {
        try call { try $0.storeId() }
    }

    /// Re-keys the store: from now on it opens with `newKey` (32 bytes; anything else is
    /// `.invalidInput`) only. Keep the new key in the keystore before calling this, and
    /// the old one until it returned: if the app stops in between, the store is under
    /// one of the two, and both are still there to try.
    public func rekey(newKey: Data) throws(PassageStoreError) {
        try call { try $0.rekey(newKey: newKey) }
    }

    // MARK: Reads

    /// The cases on this device; a damaged one is listed with its `problem`.
    public func cases() throws(PassageStoreError) -> [CaseSummary] {
        try call { try $0.cases() }
    }

    /// The journey of a case, every title in `locale`.
    public func journey(caseId: String, locale: Language = .preferred) throws(PassageStoreError) -> JourneyView {
        try call { try $0.journey(caseId: caseId, locale: locale) }
    }

    /// The medical record; `.notAllowed` for a role that may not read it (family).
    public func medical(caseId: String) throws(PassageStoreError) -> MedicalView {
        try call { try $0.medical(caseId: caseId) }
    }

    /// The arrival plan family members see: flights, housing, who meets the talent.
    public func arrivalPlan(caseId: String, locale: Language = .preferred) throws(PassageStoreError) -> ArrivalPlanView {
        try call { try $0.arrivalPlan(caseId: caseId, locale: locale) }
    }

    /// Open conflicts on critical fields, for a person to pick a value
    /// (`Edit.resolveConflict`). Medical ones only for roles that read them.
    public func conflicts(caseId: String, locale: Language = .preferred) throws(PassageStoreError) -> [Conflict] {
        try call { try $0.conflicts(caseId: caseId, locale: locale) }
    }

    /// Who changed what and when, oldest first. Show each entry's `vouched` author where
    /// there is one: it is who the server received the change from. `by`, `role` and
    /// `at` are the change's own claim, and `trust` says how the two compare
    /// (`.disputed`: show the vouched author, not the claim).
    public func history(caseId: String) throws(PassageStoreError) -> [HistoryEntry] {
        try call { try $0.history(caseId: caseId) }
    }

    /// The case as JSON in the documented export format (docs/export-format.md).
    public func exportJSON(caseId: String) throws(PassageStoreError) -> String {
        try call { try $0.exportJson(caseId: caseId) }
    }

    /// The reminders to schedule from `now` on: flights within 48 hours, medical
    /// appointments and orientation days the day before, tasks due soon. All-day dates
    /// are read in `timeZone`, the zone the phone is in. Nothing medical beyond "an
    /// appointment" ever shows in a reminder's text (it may be on a lock screen).
    public func reminders(
        caseId: String,
        now: Date = Date(),
        timeZone: TimeZone = .current,
        locale: Language = .preferred
    ) throws(PassageStoreError) -> [Reminder] {
        try call { try $0.reminders(caseId: caseId, now: now, zone: timeZone.identifier, locale: locale) }
    }

    /// The state of sync on this device: for a status line, and for when to schedule
    /// the next sync (`nextAttemptAfter`, e.g. as a `BGAppRefreshTaskRequest`'s
    /// `earliestBeginDate`).
    public func syncStatus() throws(PassageStoreError) -> SyncStatus {
        try call { try $0.syncStatus() }
    }

    // MARK: Edits

    /// Creates a journey from a destination's template (caseworkers); returns its case id.
    @discardableResult
    public func createJourney(_ journey: NewJourney) throws(PassageStoreError) -> String {
        try call { try $0.createJourney(journey: journey) }
    }

    /// Applies one edit to a case; returns once the change is on disk. Observers
    /// (``caseChanges``) hear of it before this returns.
    @discardableResult
    public func apply(_ edit: Edit, to caseId: String) throws(PassageStoreError) -> Applied {
        try call { try $0.apply(caseId: caseId, edit: edit) }
    }

    /// Erases a case's medical record (caseworkers): destroyed on this device at once,
    /// on the server and every other device at their next sync. It cannot be undone.
    /// Observers (``caseChanges``) hear of it before this returns.
    public func eraseMedical(caseId: String) throws(PassageStoreError) {
        try call { try $0.eraseMedical(caseId: caseId) }
    }

    // MARK: Sync

    /// Trusts only these server keys for enrolment and sync from now on, instead of
    /// certificate authorities: `sha256/BASE64` each, as the server prints them. Give the
    /// server's and a backup key's, so that the server changing its key does not cut the
    /// app off. The pins are kept in the store (sealed), so every later open of it, a
    /// background task's included, is pinned too: set them before the first enrolment.
    /// An empty list trusts the usual authorities again; a malformed pin is
    /// `.invalidInput`.
    public func setPins(_ pins: [String]) throws(PassageStoreError) {
        try call { try $0.setPins(pins: pins) }
    }

    /// Exchanges a one-time enrolment code for this device's token, and records the
    /// server. The enrolment's `role` is the role to open this store as from now on.
    public func enrol(server: URL, code: String, deviceName: String) async throws(PassageStoreError) -> Enrolment {
        try await callAsync { try await $0.enrol(serverUrl: server.absoluteString, code: code, deviceName: deviceName) }
    }

    /// Brings every document on this device in step with the server. Whatever happens,
    /// nothing is lost; on `.retryLater` the status says when to try again.
    @discardableResult
    public func sync() async throws(PassageStoreError) -> SyncReport {
        try await callAsync { try await $0.sync() }
    }

    // MARK: Observation

    /// The ids of the cases whose documents changed (an edit here, or a sync), one
    /// element per change. Each access is a new stream, listening from that moment;
    /// it ends when the store closes. Stop iterating (or cancel the task) to stop
    /// listening.
    public var caseChanges: AsyncStream<[String]> {
        observationStream(
            bufferingPolicy: .unbounded,
            bridge: { continuation in
                ObserverBridge(casesChanged: { continuation.yield($0) })
            }
        )
    }

    /// The sync status: first the current one, then each change (a sync or an
    /// enrolment finished, well or not). Only the newest is kept for a slow reader.
    /// Ends when the store closes.
    public var syncStatusUpdates: AsyncStream<SyncStatus> {
        observationStream(
            bufferingPolicy: .bufferingNewest(1),
            initial: { try? $0.syncStatus() },
            bridge: { continuation in
                ObserverBridge(syncStatusChanged: { continuation.yield($0) })
            }
        )
    }

    // MARK: Closing

    /// Releases the store file and ends the streams. A sync already running finishes
    /// first, in the background. Calling it again does nothing.
    public func close() {
        finish(closing())
    }

    /// Whether ``close()`` was called.
    public var isClosed: Bool {
        state.withLock { $0.store == nil }
    }

    // MARK: - Plumbing

    /// The one path of every synchronous call: the open store, or `.closed`; any error
    /// converted by `PassageStoreError(converting:)`.
    private func call<T>(_ body: (PassageFFI.Store) throws -> T) throws(PassageStoreError) -> T {
        let store = try openStore()
        do {
            return try body(store)
        } catch {
            throw PassageStoreError(converting: error)
        }
    }

    /// The same for the `async` calls.
    private func callAsync<T>(_ body: (PassageFFI.Store) async throws -> T) async throws(PassageStoreError) -> T {
        let store = try openStore()
        do {
            return try await body(store)
        } catch {
            throw PassageStoreError(converting: error)
        }
    }

    private func openStore() throws(PassageStoreError) -> PassageFFI.Store {
        guard let store = state.withLock({ $0.store }) else {
            throw PassageStoreError.closed
        }
        return store
    }

    /// A stream fed by an observer registered now; the observer is removed when the
    /// stream ends (the reader stops, its task is cancelled, or the store closes).
    private func observationStream<Element: Sendable>(
        bufferingPolicy: AsyncStream<Element>.Continuation.BufferingPolicy,
        initial: (PassageFFI.Store) -> Element? = { _ in nil },
        bridge: (AsyncStream<Element>.Continuation) -> ObserverBridge
    ) -> AsyncStream<Element> {
        let (stream, continuation) = AsyncStream.makeStream(of: Element.self, bufferingPolicy: bufferingPolicy)
        let store: PassageFFI.Store? = state.withLock { current in
            guard let store = current.store else { return nil }
            let token = current.nextStream
            current.nextStream &+= 1
            current.finishers[token] = { continuation.finish() }
            let subscription = store.observe(observer: bridge(continuation))
            continuation.onTermination = { [weak self] _ in
                subscription.cancel()
                self?.forgetStream(token)
            }
            return store
        }
        if let store, let first = initial(store) {
            continuation.yield(first)
        } else if store == nil {
            continuation.finish()
        }
        return stream
    }

    private func forgetStream(_ token: UInt64) {
        let removed = state.withLock { $0.finishers.removeValue(forKey: token) }
        // Released here, outside the lock.
        withExtendedLifetime(removed) {}
    }

    /// Takes the store and the streams' finishers out of the state, under the lock.
    private func closing() -> (store: PassageFFI.Store?, finishers: [@Sendable () -> Void]) {
        state.withLock { current in
            let taken = (store: current.store, finishers: Array(current.finishers.values))
            current.store = nil
            current.finishers.removeAll()
            return taken
        }
    }

    /// Ends the streams, then lets the store go, outside the lock: finishing a stream
    /// runs its termination handler, which takes the lock.
    private func finish(_ taken: (store: PassageFFI.Store?, finishers: [@Sendable () -> Void])) {
        withExtendedLifetime(taken.store) {
            for finish in taken.finishers {
                finish()
            }
        }
    }
}
