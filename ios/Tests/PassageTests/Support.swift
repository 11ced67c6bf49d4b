import Foundation
import XCTest

import Passage

/// A key provider with one fixed key, the same for every store: tests only.
struct TestKeys: StoreKeyProvider {
    let key: Data

    init(_ byte: UInt8 = 7) {
        key = Data(repeating: byte, count: 32)
    }

    func storeKey(forStore storeId: String) throws -> Data {
        key
    }
}

/// A key provider that fails the way a broken host keystore would: with an error
/// Passage does not declare.
struct BrokenKeys: StoreKeyProvider {
    struct KeystoreExploded: Error {}

    func storeKey(forStore storeId: String) throws -> Data {
        throw KeystoreExploded()
    }
}

/// The test cases' base: a fresh directory per test, removed afterwards, and the
/// helpers every file uses.
class PassageTestCase: XCTestCase {
    private(set) var directory: URL!

    override func setUpWithError() throws {
        try super.setUpWithError()
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("passage-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let directory {
            try? FileManager.default.removeItem(at: directory)
        }
        try super.tearDownWithError()
    }

    func storePath(_ name: String = "store.db") -> URL {
        directory.appendingPathComponent(name)
    }

    func openStore(
        _ name: String = "store.db",
        role: Role = .caseworker,
        person: String = "Amira Khoury",
        keys: any StoreKeyProvider = TestKeys()
    ) throws -> PassageStore {
        try PassageStore(path: storePath(name), role: role, name: person, keys: keys)
    }

    /// A Belgian journey, as a caseworker creates it.
    func belgianJourney(talent: String = "Rana Haddad") -> NewJourney {
        NewJourney(
            template: "be",
            version: nil,
            talentName: talent,
            employer: "AZ Sint-Jan Brugge",
            jobTitle: "Registered nurse",
            startDate: "2027-01-15"
        )
    }

    /// A caseworker's store file holding one new Belgian journey (closed again);
    /// returns the case id.
    func belgianCase(_ name: String = "store.db") throws -> String {
        let store = try openStore(name)
        defer { store.close() }
        return try store.createJourney(belgianJourney())
    }

    func task(_ id: String, in journey: JourneyView) -> TaskView? {
        journey.stages.lazy.flatMap(\.tasks).first { $0.id == id }
    }
}

// MARK: - Errors

/// Asserts that `expression` throws the Passage error of `kind`, and returns it.
@discardableResult
func assertThrows<T>(
    _ kind: PassageStoreError.Kind,
    _ expression: @autoclosure () throws -> T,
    file: StaticString = #filePath,
    line: UInt = #line
) -> PassageStoreError? {
    do {
        let value = try expression()
        XCTFail("expected PassageStoreError.\(kind), got a value: \(value)", file: file, line: line)
        return nil
    } catch let error as PassageStoreError {
        XCTAssertEqual(error.kind, kind, "the error: \(error)", file: file, line: line)
        return error
    } catch {
        XCTFail("expected PassageStoreError.\(kind), got \(type(of: error)): \(error)", file: file, line: line)
        return nil
    }
}

/// The same for an `async` call.
@discardableResult
func assertThrowsAsync<T>(
    _ kind: PassageStoreError.Kind,
    file: StaticString = #filePath,
    line: UInt = #line,
    _ body: () async throws -> T
) async -> PassageStoreError? {
    do {
        let value = try await body()
        XCTFail("expected PassageStoreError.\(kind), got a value: \(value)", file: file, line: line)
        return nil
    } catch let error as PassageStoreError {
        XCTAssertEqual(error.kind, kind, "the error: \(error)", file: file, line: line)
        return error
    } catch {
        XCTFail("expected PassageStoreError.\(kind), got \(type(of: error)): \(error)", file: file, line: line)
        return nil
    }
}

// MARK: - Streams

struct TimedOut: Error, CustomStringConvertible {
    let seconds: Double
    var description: String { "nothing arrived within \(seconds) s" }
}

/// The next element of `stream`, or `TimedOut` after `seconds`; nil if it ended.
func firstElement<Element: Sendable>(of stream: AsyncStream<Element>, within seconds: Double = 5) async throws -> Element? {
    try await withThrowingTaskGroup(of: Element?.self) { group in
        group.addTask {
            var iterator = stream.makeAsyncIterator()
            return await iterator.next()
        }
        group.addTask {
            try await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))
            throw TimedOut(seconds: seconds)
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { return nil }
        return first
    }
}

// MARK: - Memory

#if canImport(Darwin)
import Darwin

/// This process's resident memory, from the kernel (`task_info`).
func residentBytes() -> UInt64? {
    var info = mach_task_basic_info()
    var count = mach_msg_type_number_t(MemoryLayout<mach_task_basic_info>.size / MemoryLayout<natural_t>.size)
    let result = withUnsafeMutablePointer(to: &info) { pointer in
        pointer.withMemoryRebound(to: integer_t.self, capacity: Int(count)) { raw in
            task_info(mach_task_self_, task_flavor_t(MACH_TASK_BASIC_INFO), raw, &count)
        }
    }
    return result == KERN_SUCCESS ? info.resident_size : nil
}
#endif
