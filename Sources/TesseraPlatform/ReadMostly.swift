import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A value read on every request and replaced rarely (signing keys, the client registry).
///
/// Readers take no shared lock: each thread keeps its own reference to the latest value and only
/// compares an atomic generation number; after a `replace`, each thread's next read fetches the new
/// value once under the writer's lock. So hot paths scale across threads without contending.
public final class ReadMostly<Value: Sendable>: @unchecked Sendable {
    // `key` is written once in init; everything else is atomic or behind `latest`'s lock.
    private let generation = Atomic<UInt64>(1)
    private let latest: Mutex<Entry>
    private var key = pthread_key_t()

    private final class Entry: @unchecked Sendable {
        let generation: UInt64
        let value: Value
        init(_ generation: UInt64, _ value: Value) {
            self.generation = generation
            self.value = value
        }
    }

    public init(_ value: Value) {
        latest = Mutex(Entry(1, value))
        // Each thread's cached entry is released when the thread exits.
        pthread_key_create(&key) { pointer in
            if let pointer { Unmanaged<AnyObject>.fromOpaque(pointer).release() }
        }
    }

    deinit {
        // Entries still cached by live threads are leaked; instances live as long as the process.
        pthread_key_delete(key)
    }

    /// The current value.
    public func read() -> Value {
        let wanted = generation.load(ordering: .acquiring)
        if let pointer = pthread_getspecific(key) {
            let cached = Unmanaged<Entry>.fromOpaque(pointer).takeUnretainedValue()
            if cached.generation == wanted { return cached.value }
        }
        let entry = latest.withLock { $0 }
        if let old = pthread_getspecific(key) { Unmanaged<Entry>.fromOpaque(old).release() }
        pthread_setspecific(key, Unmanaged.passRetained(entry).toOpaque())
        return entry.value
    }

    /// Replaces the value; every thread sees it on its next read.
    public func replace(_ value: Value) {
        latest.withLock { entry in
            entry = Entry(entry.generation + 1, value)
            generation.store(entry.generation, ordering: .releasing)
        }
    }

    /// Replaces the value with `transform(current)`, atomically with respect to other writers.
    public func update(_ transform: (Value) -> Value) {
        latest.withLock { entry in
            entry = Entry(entry.generation + 1, transform(entry.value))
            generation.store(entry.generation, ordering: .releasing)
        }
    }
}
