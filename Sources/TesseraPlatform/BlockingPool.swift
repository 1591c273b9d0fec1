import CTesseraShims
import Foundation

/// A fixed set of dedicated threads for blocking C calls (SQLite, scrypt, libldap, krb5).
///
/// Blocking work must never run on the cooperative pool or on an I/O event-loop thread: it would stall
/// every task scheduled there. `run` parks the caller's task on a continuation and resumes it when a
/// pool thread has finished the work.
public final class BlockingPool: Sendable {
    private let work: WorkQueue
    public let name: String
    public let threadCount: Int

    /// - Parameters:
    ///   - name: shown in thread names, for debugging.
    ///   - threads: how many blocking calls may run at once.
    public init(name: String, threads: Int) {
        precondition(threads > 0, "a blocking pool needs at least one thread")
        self.name = name
        self.threadCount = threads
        let work = WorkQueue()
        self.work = work
        for index in 0..<threads {
            // Threads hold the queue, not the pool, so dropping the pool stops them after draining.
            let threadName = "\(name)-\(index)"
            // Set the OS thread name from the thread itself : Foundation's name
            // does not reliably reach the OS thread, which then shows its creator's name in debuggers.
            let thread = Thread {
                tessera_set_current_thread_name(threadName)
                work.workLoop()
            }
            thread.name = threadName
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    deinit {
        work.stop()
    }

    /// Runs `work` on one of the pool's threads and returns its result to the calling task.
    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            self.work.enqueue {
                continuation.resume(with: Result { try work() })
            }
        }
    }

    /// Runs non-throwing `work` on one of the pool's threads.
    public func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
            self.work.enqueue { continuation.resume(returning: work()) }
        }
    }

}

private final class WorkQueue: @unchecked Sendable {
    // Guarded by `condition`.
    private let condition = NSCondition()
    private var queue: [@Sendable () -> Void] = []
    private var queueHead = 0
    private var stopping = false

    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    func enqueue(_ item: @escaping @Sendable () -> Void) {
        condition.lock()
        queue.append(item)
        condition.signal()
        condition.unlock()
    }

    func workLoop() {
        while true {
            condition.lock()
            while queueHead == queue.count && !stopping {
                condition.wait()
            }
            if queueHead == queue.count {  // stopping and drained
                condition.unlock()
                return
            }
            let item = queue[queueHead]
            queueHead += 1
            if queueHead > 1024 && queueHead * 2 > queue.count {
                queue.removeFirst(queueHead)
                queueHead = 0
            }
            condition.unlock()
            item()
        }
    }
}
