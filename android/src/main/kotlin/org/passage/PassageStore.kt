package org.passage

import java.io.Closeable
import java.time.Instant
import java.time.ZoneId
import java.util.concurrent.atomic.AtomicBoolean
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.channels.trySendBlocking
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.flow.conflate
import kotlinx.coroutines.channels.BufferOverflow
import org.passage.ffi.Applied
import org.passage.ffi.ArrivalPlanView
import org.passage.ffi.CaseSummary
import org.passage.ffi.Conflict
import org.passage.ffi.Edit
import org.passage.ffi.Enrolment
import org.passage.ffi.HistoryEntry
import org.passage.ffi.JourneyView
import org.passage.ffi.KeyProvider
import org.passage.ffi.Locale
import org.passage.ffi.MedicalView
import org.passage.ffi.NewJourney
import org.passage.ffi.Reminder
import org.passage.ffi.Role
import org.passage.ffi.Store
import org.passage.ffi.StoreObserver
import org.passage.ffi.SyncReport
import org.passage.ffi.SyncStatus

/**
 * The host's keystore. Return the same 32-byte key for the same store every time: keep
 * it in the Android Keystore (e.g. wrapped by a Keystore key, as Signal does) under
 * [storeId], the store's stable id, which stays the same when the file moves. The first
 * key a store is given becomes its key: everything in the store is sealed under keys it
 * wraps, and a lost key is a lost store (sync it again from the server).
 */
fun interface StoreKeyProvider {
    fun storeKey(storeId: String): ByteArray
}

/**
 * One Passage store file, opened as one role: the journey, medical record and arrival
 * plan of the cases on this device, offline, synced with the server on demand.
 *
 * Every method may be called from any thread; the edits and reads are quick (no
 * network) but do touch the disk, so call them off the main thread. [sync] and [enrol]
 * suspend without blocking the caller's thread. Close the store when done; a closed
 * store throws [IllegalStateException].
 */
class PassageStore private constructor(private val inner: Store) : Closeable {
    private val closed = AtomicBoolean(false)

    companion object {
        /**
         * Opens (or creates) the store at [path] as [role]; [name] is written into the
         * history of this device's changes. Asks [keys] for the store's key first.
         */
        @JvmStatic
        fun open(path: String, role: Role, name: String, keys: StoreKeyProvider): PassageStore =
            passageCall { PassageStore(Store.open(path, role, name, KeyAdapter(keys))) }
    }

    /** The generated object, for the binding benchmark in this module. */
    internal val generated: Store get() = inner

    val role: Role get() = live { inner.role() }

    val path: String get() = live { inner.path() }

    /**
     * Trusts only these server keys (`sha256/BASE64`, as the server prints them) for
     * enrolment and sync from now on, instead of certificate authorities. Give the
     * server's and a backup key's. They are kept in the store (sealed), so every later
     * open of it, a WorkManager worker's included, is pinned too: set them before the
     * first enrolment.
     */
    fun setPins(pins: List<String>) = call { inner.setPins(pins) }

    /** The store's stable id, the one [StoreKeyProvider] is asked with. */
    val storeId: String get() = call { inner.storeId() }

    /**
     * Re-keys the store: from now on it opens with [newKey] (32 bytes) only. Keep the new
     * key in the keystore before calling this, and the old one until it returned.
     */
    fun rekey(newKey: ByteArray) = call { inner.rekey(newKey) }

    fun cases(): List<CaseSummary> = call { inner.cases() }

    /** Creates a journey from a destination's template (caseworkers); returns its case id. */
    fun createJourney(journey: NewJourney): String = call { inner.createJourney(journey) }

    fun journey(caseId: String, locale: Locale = Locale.EN): JourneyView = call { inner.journey(caseId, locale) }

    /** The medical record; [PassageStoreException.NotAllowed] for family. */
    fun medical(caseId: String): MedicalView = call { inner.medical(caseId) }

    fun arrivalPlan(caseId: String, locale: Locale = Locale.EN): ArrivalPlanView =
        call { inner.arrivalPlan(caseId, locale) }

    /** Applies one edit; returns once it is on disk. */
    fun apply(caseId: String, edit: Edit): Applied = call { inner.apply(caseId, edit) }

    fun conflicts(caseId: String, locale: Locale = Locale.EN): List<Conflict> = call { inner.conflicts(caseId, locale) }

    /**
     * Who changed what and when, oldest first. Show each entry's [HistoryEntry.vouched]
     * author where there is one: it is what the server vouched for; `by` and `role`
     * are the change's own claim ([HistoryEntry.trust] says how the two compare).
     */
    fun history(caseId: String): List<HistoryEntry> = call { inner.history(caseId) }

    /**
     * Erases the case's medical record (caseworkers): destroyed on this device at once,
     * on the server and every other device at their next sync. It cannot be undone.
     */
    fun eraseMedical(caseId: String) = call { inner.eraseMedical(caseId) }

    fun exportJson(caseId: String): String = call { inner.exportJson(caseId) }

    /** Reminders to schedule as local notifications, from [now], for a phone in [zone]. */
    fun reminders(
        caseId: String,
        now: Instant = Instant.now(),
        zone: ZoneId = ZoneId.systemDefault(),
        locale: Locale = Locale.EN,
    ): List<Reminder> = call { inner.reminders(caseId, now, zone.id, locale) }

    fun syncStatus(): SyncStatus = call { inner.syncStatus() }

    /** Exchanges an enrolment code for this device's token. */
    suspend fun enrol(serverUrl: String, code: String, deviceName: String): Enrolment =
        call { inner.enrol(serverUrl, code, deviceName) }

    /**
     * Brings every document on the device in step with the server. Nothing is lost
     * whatever happens; after a failure, [syncStatus] says when to try again
     * (schedule it with WorkManager).
     */
    suspend fun sync(): SyncReport = call { inner.sync() }

    /** The sync status now, then after every enrolment and sync. */
    val syncStatusUpdates: Flow<SyncStatus>
        get() = callbackFlow {
            trySend(syncStatus())
            val subscription = inner.observe(object : StoreObserver {
                override fun casesChanged(caseIds: List<String>) {}
                override fun syncStatusChanged(status: SyncStatus) {
                    trySendBlocking(status)
                }
            })
            awaitClose { subscription.close() }
        }.conflate()

    /** The ids of cases whose documents changed, by an edit here or by a sync. */
    val caseChanges: Flow<List<String>>
        get() = callbackFlow {
            val subscription = inner.observe(object : StoreObserver {
                override fun casesChanged(caseIds: List<String>) {
                    trySendBlocking(caseIds)
                }
                override fun syncStatusChanged(status: SyncStatus) {}
            })
            awaitClose { subscription.close() }
        }.buffer(64, BufferOverflow.DROP_OLDEST)

    /** Releases the store file. Calling it again does nothing. */
    override fun close() {
        if (closed.compareAndSet(false, true)) {
            inner.close()
        }
    }

    private inline fun <T> live(block: () -> T): T {
        check(!closed.get()) { "this PassageStore is closed" }
        return block()
    }

    private inline fun <T> call(block: () -> T): T = live { passageCall(block) }
}

/**
 * The generated key-provider interface over the app's [StoreKeyProvider]. Anything the
 * app's provider throws reaches Passage, which fails the open with
 * [PassageStoreException.Internal] instead of crashing.
 */
private class KeyAdapter(private val keys: StoreKeyProvider) : KeyProvider {
    override fun storeKey(storeId: String): ByteArray = keys.storeKey(storeId)
}
