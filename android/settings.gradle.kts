// The Passage Android library (AAR). Needs the Android SDK and NDK, and cargo-ndk
// (`cargo install cargo-ndk`); see README.md. The JVM tests also run without Gradle:
// scripts/jvm-test.sh, which is what CI runs.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "passage-android"
