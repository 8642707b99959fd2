"""Quality queries for bench_index.py, written from the rust book's sections.

Each entry: (question in a reader's own words, expected file, expected section title or None).
A hit is correct when it comes from the file and, when a section is given, the section title
is part of the hit's heading path. Titles are written as forge shows them (code marks removed).
"""

QUERIES: list[tuple[str, str, str | None]] = [
    (
        "how to make a variable that can be changed after it is assigned",
        "ch03-01-variables-and-mutability.md",
        "Variables and Mutability",
    ),
    (
        "declare a value that never changes for the whole program",
        "ch03-01-variables-and-mutability.md",
        "Declaring Constants",
    ),
    (
        "reuse a variable name with let to make a new variable",
        "ch03-01-variables-and-mutability.md",
        "Shadowing",
    ),
    ("what happens when an integer overflows", "ch03-02-data-types.md", "Integer Types"),
    (
        "fixed size collection of elements of the same type",
        "ch03-02-data-types.md",
        "The Array Type",
    ),
    (
        "group values of different types into one compound value",
        "ch03-02-data-types.md",
        "The Tuple Type",
    ),
    (
        "difference between statements and expressions",
        "ch03-03-how-functions-work.md",
        "Statements and Expressions",
    ),
    ("break out of an outer loop from an inner loop", "ch03-05-control-flow.md", "Loop Labels"),
    (
        "loop over each element of an array",
        "ch03-05-control-flow.md",
        "Looping Through a Collection with for",
    ),
    ("the rules of ownership", "ch04-01-what-is-ownership.md", "Ownership Rules"),
    (
        "deep copy heap data instead of moving it",
        "ch04-01-what-is-ownership.md",
        "Variables and Data Interacting with Clone",
    ),
    ("types that are copied instead of moved", "ch04-01-what-is-ownership.md", "Stack-Only Data"),
    (
        "only one mutable reference to a value at a time",
        "ch04-02-references-and-borrowing.md",
        "Mutable References",
    ),
    (
        "returning a reference to a value that goes out of scope",
        "ch04-02-references-and-borrowing.md",
        "Dangling References",
    ),
    ("a reference to part of a string", "ch04-03-slices.md", "String Slices"),
    (
        "create a struct instance from another instance with the remaining fields",
        "ch05-01-defining-structs.md",
        "Struct Update Syntax",
    ),
    ("structs that have no field names", "ch05-01-defining-structs.md", "Tuple Structs"),
    ("print a struct for debugging", "ch05-02-example-structs.md", "Derived Traits"),
    (
        "functions in an impl block that do not take self, like constructors",
        "ch05-03-method-syntax.md",
        "Associated Functions",
    ),
    (
        "a value that may be absent instead of null",
        "ch06-01-defining-an-enum.md",
        "The Option Enum",
    ),
    ("match has to cover every possible case", "ch06-02-match.md", "Matches Are Exhaustive"),
    (
        "handle one pattern and ignore the rest concisely",
        "ch06-03-if-let.md",
        "Concise Control Flow",
    ),
    (
        "make an item inside a module usable from outside",
        "ch07-03-paths-for-referring-to-an-item-in-the-module-tree.md",
        "Exposing Paths with the pub Keyword",
    ),
    (
        "refer to an item in the parent module",
        "ch07-03-paths-for-referring-to-an-item-in-the-module-tree.md",
        "Starting Relative Paths with super",
    ),
    (
        "rename an imported type to avoid a name clash",
        "ch07-04-bringing-paths-into-scope-with-the-use-keyword.md",
        "Providing New Names with the as Keyword",
    ),
    ("add an element to the end of a vector", "ch08-01-vectors.md", "Updating a Vector"),
    (
        "get an element of a vector without crashing when the index is out of range",
        "ch08-01-vectors.md",
        "Reading Elements of Vectors",
    ),
    ("join two strings together", "ch08-02-strings.md", "Concatenating with + or format!"),
    (
        "why can't I get a character of a String by its position",
        "ch08-02-strings.md",
        "Indexing into Strings",
    ),
    (
        "insert into a hash map only when the key has no value yet",
        "ch08-03-hash-maps.md",
        "Adding a Key and Value Only If a Key Isn’t Present",
    ),
    (
        "count how many times each word appears in a text",
        "ch08-03-hash-maps.md",
        "Updating a Value Based on the Old Value",
    ),
    (
        "return the error to the calling code instead of handling it",
        "ch09-02-recoverable-errors-with-result.md",
        "Propagating Errors",
    ),
    (
        "the question mark operator",
        "ch09-02-recoverable-errors-with-result.md",
        "The ? Operator Shortcut",
    ),
    (
        "when should code panic rather than return a Result",
        "ch09-03-to-panic-or-not-to-panic.md",
        None,
    ),
    ("require a generic type to implement a trait", "ch10-02-traits.md", "Trait Bound Syntax"),
    ("a trait method with a default body", "ch10-02-traits.md", "Using Default Implementations"),
    (
        "lifetime annotations on a function that returns a reference",
        "ch10-03-lifetime-syntax.md",
        None,
    ),
    (
        "rules the compiler uses so lifetimes need not be written",
        "ch10-03-lifetime-syntax.md",
        "Lifetime Elision",
    ),
    (
        "test that a function panics",
        "ch11-01-writing-tests.md",
        "Checking for Panics with should_panic",
    ),
    (
        "run tests one at a time instead of in parallel",
        "ch11-02-running-tests.md",
        "Running Tests in Parallel or Consecutively",
    ),
    (
        "see the printed output of passing tests",
        "ch11-02-running-tests.md",
        "Showing Function Output",
    ),
    (
        "integration tests in their own directory",
        "ch11-03-test-organization.md",
        "Integration Tests",
    ),
    (
        "read the command line arguments of a program",
        "ch12-01-accepting-command-line-arguments.md",
        None,
    ),
    (
        "print error messages to standard error instead of standard output",
        "ch12-06-writing-to-stderr-instead-of-stdout.md",
        None,
    ),
    ("how do closures capture variables", "ch13-01-closures.md", None),
    (
        "force a closure to take ownership of the values it uses",
        "ch13-01-closures.md",
        "Capturing References or Moving Ownership",
    ),
    ("FnOnce FnMut and Fn traits", "ch13-01-closures.md", "Moving Captured Values Out of Closures"),
    (
        "iterator adapters such as map that produce other iterators",
        "ch13-02-iterators.md",
        "Methods That Produce Other Iterators",
    ),
    ("are iterators slower than hand written loops", "ch13-04-performance.md", None),
    ("optimization levels for dev and release builds", "ch14-01-release-profiles.md", None),
    (
        "documentation comments that are run as tests",
        "ch14-02-publishing-to-crates-io.md",
        "Documentation Comments as Tests",
    ),
    ("allocate a recursive type on the heap", "ch15-01-box.md", None),
    ("several owners of the same data with reference counting", "ch15-04-rc.md", None),
    (
        "check the borrowing rules at runtime instead of at compile time",
        "ch15-05-interior-mutability.md",
        "Enforcing Borrowing Rules at Runtime",
    ),
    ("memory leaks caused by reference cycles", "ch15-06-reference-cycles.md", None),
    ("spawn a thread and wait for it to finish", "ch16-01-threads.md", None),
    ("send values between threads over a channel", "ch16-02-message-passing.md", None),
    ("share a mutex between several threads", "ch16-03-shared-state.md", None),
    ("dynamic dispatch with trait objects", "ch18-02-trait-objects.md", None),
    (
        "an extra condition on a match arm",
        "ch19-03-pattern-syntax.md",
        "Adding Conditionals with Match Guards",
    ),
    ("dereference a raw pointer", "ch20-01-unsafe-rust.md", "Dereferencing a Raw Pointer"),
    (
        "implement an external trait on an external type",
        "ch20-02-advanced-traits.md",
        "Implementing External Traits with the Newtype Pattern",
    ),
    ("write a macro with macro_rules", "ch20-05-macros.md", "Declarative Macros"),
    (
        "listen for TCP connections in a web server",
        "ch21-01-single-threaded.md",
        "Listening to the TCP Connection",
    ),
    ("shut down the thread pool gracefully", "ch21-03-graceful-shutdown-and-cleanup.md", None),
]
