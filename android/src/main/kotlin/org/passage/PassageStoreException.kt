package org.passage

import org.passage.ffi.InternalException
import org.passage.ffi.PassageException

/**
 * What went wrong in Passage, sorted by what the app does next. The generated
 * `PassageException` never reaches app code: every call of [PassageStore] converts it
 * here, in one place, so apps depend on this hierarchy only.
 */
sealed class PassageStoreException(val reason: String, cause: Throwable?) : Exception(reason, cause) {
    /** The server could not be reached or cannot serve now. Sync later, not before [retryAfterMillis]. */
    class RetryLater(reason: String, val retryAfterMillis: Long?, cause: Throwable? = null) :
        PassageStoreException(reason, cause)

    /** Not enrolled, or the token was revoked or expired: ask for a new enrolment code. */
    class EnrolAgain(reason: String, cause: Throwable? = null) : PassageStoreException(reason, cause)

    /** The input cannot be used as given: ask the person to correct it. */
    class InvalidInput(reason: String, cause: Throwable? = null) : PassageStoreException(reason, cause)

    /** The case, task or booking does not exist (any more): refresh the list. */
    class NotFound(reason: String, cause: Throwable? = null) : PassageStoreException(reason, cause)

    /** This role may not do this: tell the person; retrying will not help. */
    class NotAllowed(reason: String, cause: Throwable? = null) : PassageStoreException(reason, cause)

    /** The disk is full or the database failed: free space, then retry. */
    class Storage(reason: String, cause: Throwable? = null) : PassageStoreException(reason, cause)

    /** Stored or received data is damaged or from a newer version: report it, update the app. */
    class CorruptData(reason: String, cause: Throwable? = null) : PassageStoreException(reason, cause)

    /** The key is not this store's key: find the right one in the Keystore, or start a new store. */
    class WrongKey(reason: String, cause: Throwable? = null) : PassageStoreException(reason, cause)

    /** A bug in Passage, or a callback of the app that threw: report it. The store stays usable. */
    class Internal(reason: String, cause: Throwable? = null) : PassageStoreException(reason, cause)
}

/** The one conversion from the generated errors. */
internal fun PassageException.toPublic(): PassageStoreException =
    when (this) {
        is PassageException.RetryLater -> PassageStoreException.RetryLater(reason, retryAfterMs?.toLong(), this)
        is PassageException.EnrolAgain -> PassageStoreException.EnrolAgain(reason, this)
        is PassageException.InvalidInput -> PassageStoreException.InvalidInput(reason, this)
        is PassageException.NotFound -> PassageStoreException.NotFound(reason, this)
        is PassageException.NotAllowed -> PassageStoreException.NotAllowed(reason, this)
        is PassageException.Storage -> PassageStoreException.Storage(reason, this)
        is PassageException.CorruptData -> PassageStoreException.CorruptData(reason, this)
        is PassageException.WrongKey -> PassageStoreException.WrongKey(reason, this)
        is PassageException.Internal -> PassageStoreException.Internal(reason, this)
    }

/** Runs one call into Passage; its failures arrive as [PassageStoreException]. */
internal inline fun <T> passageCall(block: () -> T): T =
    try {
        block()
    } catch (e: PassageException) {
        throw e.toPublic()
    } catch (e: InternalException) {
        // uniffi's own catch-all, for a failure outside Passage's error type.
        throw PassageStoreException.Internal(e.message ?: "internal error", e)
    }
