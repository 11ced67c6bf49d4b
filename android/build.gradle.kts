// org.passage: the Kotlin API over libpassage_ffi.so, as an Android library.
//
// The native library is built by cargo-ndk for arm64-v8a, armeabi-v7a and x86_64,
// linked for 16 KB pages (.cargo/config.toml at the root of the repository); the
// Kotlin bindings are generated from it by the repository's pinned uniffi-bindgen.
// Neither is checked in: both are produced under build/ by the tasks below.

plugins {
    id("com.android.library") version "8.7.3"
    id("org.jetbrains.kotlin.android") version "2.1.0"
}

val repoRoot: File = rootDir.parentFile
val cargoTargetDir: String =
    System.getenv("CARGO_TARGET_DIR") ?: "${System.getProperty("user.home")}/.cache/passage-target"
val generatedKotlin = layout.buildDirectory.dir("generated/uniffi")
val jniLibsDir = layout.buildDirectory.dir("jniLibs")
val hostLibDir = "$cargoTargetDir/debug"

android {
    namespace = "org.passage"
    compileSdk = 35
    ndkVersion = "27.2.12479018"

    defaultConfig {
        minSdk = 24
        consumerProguardFiles("consumer-rules.pro")
    }

    sourceSets {
        getByName("main") {
            kotlin.srcDirs("src/main/kotlin", generatedKotlin)
            jniLibs.srcDirs(jniLibsDir)
        }
        getByName("test") {
            kotlin.srcDirs("src/test/kotlin")
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    testOptions {
        unitTests.all { test ->
            // JVM unit tests load the host build of the library (cargo build -p passage-ffi).
            test.systemProperty("jna.library.path", hostLibDir)
        }
    }
}

kotlin {
    jvmToolchain(17)
}

dependencies {
    implementation("net.java.dev.jna:jna:5.13.0@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.9.0")
    testImplementation("net.java.dev.jna:jna:5.13.0")
    testImplementation("junit:junit:4.13.2")
    testImplementation("org.jetbrains.kotlin:kotlin-test-junit:2.1.0")
    testImplementation("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.9.0")
}

val cargoHostBuild by tasks.registering(Exec::class) {
    description = "Builds libpassage_ffi for this machine (bindings generation, JVM tests)."
    workingDir = repoRoot
    commandLine("cargo", "build", "--locked", "-p", "passage-ffi")
}

val generateUniffiBindings by tasks.registering(Exec::class) {
    description = "Generates the Kotlin bindings with the repository's pinned uniffi-bindgen."
    dependsOn(cargoHostBuild)
    workingDir = repoRoot
    val hostLib = if (System.getProperty("os.name").startsWith("Mac")) "libpassage_ffi.dylib" else "libpassage_ffi.so"
    commandLine(
        "cargo", "uniffi-bindgen", "generate",
        "--library", "$hostLibDir/$hostLib",
        "--language", "kotlin",
        "--out-dir", generatedKotlin.get().asFile.path,
        "--no-format",
    )
}

val cargoNdkBuild by tasks.registering(Exec::class) {
    description = "Builds libpassage_ffi.so for arm64-v8a, armeabi-v7a and x86_64 with cargo-ndk."
    workingDir = repoRoot
    commandLine(
        "cargo", "ndk",
        "-t", "arm64-v8a", "-t", "armeabi-v7a", "-t", "x86_64",
        "--platform", "24",
        "-o", jniLibsDir.get().asFile.path,
        "build", "--release", "--locked", "-p", "passage-ffi",
    )
}

tasks.named("preBuild") {
    dependsOn(generateUniffiBindings, cargoNdkBuild)
}
