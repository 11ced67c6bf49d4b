package org.passage

import java.nio.file.Files
import java.nio.file.Path
import org.passage.ffi.NewJourney
import org.passage.ffi.Role

/** A key provider that hands out one fixed key, like a Keystore-backed one would. */
class FixedKey(private val byte: Byte = 0x2a) : StoreKeyProvider {
    override fun storeKey(storeId: String): ByteArray = ByteArray(32) { byte }
}

fun tempDir(): Path = Files.createTempDirectory("passage-kotlin-test")

fun openStore(path: Path, role: Role, name: String = role.name.lowercase(), keys: StoreKeyProvider = FixedKey()) =
    PassageStore.open(path.toString(), role, name, keys)

/** A Belgian journey for Rana Haddad. */
fun belgianJourney() = NewJourney(
    template = "be",
    version = null,
    talentName = "Rana Haddad",
    employer = "AZ Sint-Jan Brugge",
    jobTitle = "Registered nurse",
    startDate = "2027-01-11",
)

/** A caseworker's store on disk holding one new Belgian journey; returns the case id. */
fun belgianCase(path: Path): String =
    openStore(path, Role.CASEWORKER, "Amira Khoury").use { store -> store.createJourney(belgianJourney()) }

/** The process's resident memory, from /proc (Linux), in bytes. */
fun residentBytes(): Long {
    val line = Files.readAllLines(Path.of("/proc/self/status")).first { it.startsWith("VmRSS:") }
    return line.removePrefix("VmRSS:").trim().removeSuffix("kB").trim().toLong() * 1024
}

fun env(name: String): String =
    System.getenv(name) ?: error("$name is not set: run the tests with android/scripts/jvm-test.sh, which starts a server")
