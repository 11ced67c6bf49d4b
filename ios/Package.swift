// swift-tools-version:6.0
//
// Passage for iOS and macOS: the Rust core (passage-ffi) as an XCFramework, the Swift
// that uniffi generates for it, and the idiomatic wrapper apps import (`Passage`).
//
// Before the first build, on a Mac: `scripts/build-xcframework.sh` (all platforms) or
// `scripts/build-xcframework.sh --macos-only` (enough for `swift test`). Both generate
// the bindings first; see README.md.

import PackageDescription

/// The wrapper and the tests are written to Swift 6's concurrency rules. They build in
/// language mode 5 with complete concurrency checking, so that a diagnostic no Mac has
/// seen yet is a warning rather than a broken build; move them to `.v6` once verified.
let strictConcurrency: [SwiftSetting] = [
    .swiftLanguageMode(.v5),
    .enableUpcomingFeature("StrictConcurrency"),
]

let package = Package(
    name: "Passage",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "Passage", targets: ["Passage"]),
    ],
    targets: [
        // The Rust static library with its C header and module map (module `PassageFFIC`),
        // one slice per platform, built by scripts/build-xcframework.sh. A binary target's
        // name must be the XCFramework's file name (SwiftPM: "artifact not found for
        // target" otherwise), hence PassageFFIC.xcframework.
        .binaryTarget(
            name: "PassageFFIC",
            path: "build/PassageFFIC.xcframework"
        ),
        // The Swift uniffi generates (PassageFFI.swift, git-ignored), by
        // scripts/generate-bindings.sh. Apps do not import it; they import Passage.
        .target(
            name: "PassageFFI",
            dependencies: ["PassageFFIC"],
            path: "Sources/PassageFFI",
            exclude: ["README.md"],
            swiftSettings: [.swiftLanguageMode(.v5)],
            linkerSettings: [
                // What the Rust static library calls on Apple platforms: the time zone
                // lookup (iana-time-zone) and the TLS stack's platform bits.
                .linkedFramework("CoreFoundation"),
                .linkedFramework("Security"),
            ]
        ),
        .target(
            name: "Passage",
            dependencies: ["PassageFFI"],
            path: "Sources/Passage",
            swiftSettings: strictConcurrency
        ),
        .testTarget(
            name: "PassageTests",
            dependencies: ["Passage"],
            path: "Tests/PassageTests",
            swiftSettings: strictConcurrency
        ),
    ]
)
