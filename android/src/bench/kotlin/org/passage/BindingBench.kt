package org.passage

import java.nio.file.Files
import org.passage.ffi.Locale
import org.passage.ffi.Role
import org.passage.ffi.benchPrepareHundredTaskJourney
import org.passage.ffi.benchRustJourneyReads

/**
 * The binding benchmark: reading the full journey view of a 100-task journey through
 * the Kotlin wrapper, against the same call made from Rust on the same object, in the
 * same process and run. Both sides alternate in blocks, so the machine's noise hits
 * them alike; the ratio of the medians is what is judged (target <= 3x).
 */
fun main() {
    val dir = Files.createTempDirectory("passage-binding-bench")
    val path = dir.resolve("bench.db").toString()
    val case = benchPrepareHundredTaskJourney(path)
    val blocks = 60
    val perBlock = 20
    PassageStore.open(path, Role.CASEWORKER, "bench") { ByteArray(32) { 7 } }.use { store ->
        val tasks = store.journey(case).stages.sumOf { it.tasks.size }
        check(tasks == 100) { "the journey has $tasks tasks" }
        // Warm-up: the JIT compiles the generated readers; Rust's caches fill.
        repeat(300) { store.journey(case, Locale.AR) }
        benchRustJourneyReads(store.generated, case, Locale.AR, 300u)

        val kotlin = ArrayList<Double>()
        val rust = ArrayList<Double>()
        repeat(blocks) {
            val started = System.nanoTime()
            repeat(perBlock) { store.journey(case, Locale.AR) }
            kotlin.add((System.nanoTime() - started).toDouble() / perBlock)
            val nanos = benchRustJourneyReads(store.generated, case, Locale.AR, perBlock.toUInt())
            rust.add(nanos.toDouble() / perBlock)
        }
        val k = kotlin.sorted()[blocks / 2]
        val r = rust.sorted()[blocks / 2]
        val ratio = k / r
        println("binding benchmark: full journey view, 100 tasks, Arabic, $blocks blocks of $perBlock calls per side")
        println("    subject  PassageStore.journey() from Kotlin (JNA)   median %8.3f ms per call".format(k / 1e6))
        println("    baseline Store::journey() from Rust, same object    median %8.3f ms per call".format(r / 1e6))
        println("    ratio    %.3fx   target <= 3x   %s".format(ratio, if (ratio <= 3.0) "PASS" else "OVER"))
    }
    dir.toFile().deleteRecursively()
}
