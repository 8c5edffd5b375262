import Chopin
import Synchronization

/// `POST /notes` keeps a note in memory and answers it with its new id;
/// `GET /notes` lists every note kept. State in a `Mutex`, as the README
/// suggests for shared state: under the default isolation (one worker
/// process, a thread per worker) every worker sees the same notes and hands
/// out unique ids; with a process per worker each worker would have its own.
/// In memory only: a trap or a rolling restart starts the next process with
/// no notes (and ids from 1 again), as any in-memory store would.
///
///     POST /notes  {"text": "..."}  201 {"id": 1, "text": "..."}
///     GET  /notes                   200 [{"id": 1, "text": "..."}, ...]
///
/// A demo store, so it is bounded: at most ``NoteStore/capacity`` notes
/// (then 409) of at most ``NoteStore/maxTextBytes`` bytes each (else 413).
func addNotesRoutes(to router: Router) {
    let store = NoteStore()
    router.post("/notes") { (ctx: Context, new: Json<NewNote>) throws in
        ctx.json(try store.add(new.value.text), status: .created)
    }
    router.get("/notes") { ctx in ctx.json(store.all()) }
}

/// A note kept by `POST /notes`.
struct Note: Codable, Sendable {
    let id: Int
    let text: String
}

/// `POST /notes`' body.
struct NewNote: Decodable, Sendable {
    let text: String
}

/// The notes, shared by every worker thread of the process.
final class NoteStore: Sendable {
    static let capacity = 1000
    static let maxTextBytes = 1000

    private struct State {
        var nextID = 1
        var notes: [Note] = []
    }
    private let state = Mutex(State())

    func add(_ text: String) throws -> Note {
        guard text.utf8.count <= Self.maxTextBytes else {
            throw HTTPError(.payloadTooLarge, "a note is at most \(Self.maxTextBytes) bytes")
        }
        return try state.withLock { state in
            guard state.notes.count < Self.capacity else {
                throw HTTPError(.conflict, "the example keeps at most \(Self.capacity) notes")
            }
            let note = Note(id: state.nextID, text: text)
            state.nextID += 1
            state.notes.append(note)
            return note
        }
    }

    func all() -> [Note] { state.withLock { $0.notes } }
}
