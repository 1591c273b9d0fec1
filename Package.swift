// swift-tools-version:6.0
// Tessera: identity and enrolment broker. No third-party Swift packages: Foundation, the toolchain's
// own modules, and system C libraries through system-library targets.
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Tessera",
    platforms: [.macOS(.v14)],
    targets: [
        // System C libraries. Each module map names its Debian -dev package.
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CLDAP", providers: [.apt(["libldap2-dev"])]),
        .systemLibrary(name: "CKerberos", providers: [.apt(["libkrb5-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CPostgres", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        // Real C: macros, variadic calls and syscalls Swift cannot import directly.
        .target(
            name: "CTesseraShims",
            linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto")]
        ),

        .target(name: "TesseraPlatform", dependencies: ["CTesseraShims"], swiftSettings: swiftSettings),
        .target(name: "TesseraCore", swiftSettings: swiftSettings),
        .target(
            name: "TesseraCrypto",
            dependencies: ["COpenSSL", "CTesseraShims", "TesseraPlatform"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TesseraStore",
            dependencies: ["CSQLite", "TesseraCore", "TesseraPlatform"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TesseraAccounts",
            dependencies: ["TesseraCore", "TesseraStore"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TesseraDirectory",
            dependencies: ["CLDAP", "CKerberos", "CTesseraShims", "TesseraCore", "TesseraPlatform"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TesseraOAuth",
            dependencies: [
                "TesseraCore", "TesseraStore", "TesseraCrypto", "TesseraAccounts", "TesseraHTTP", "TesseraPlatform",
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TesseraEnrolment",
            dependencies: [
                "TesseraCore", "TesseraCrypto", "TesseraStore", "TesseraAccounts", "TesseraHTTP", "TesseraPlatform",
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TesseraHTTP",
            dependencies: ["COpenSSL", "CTesseraShims", "TesseraPlatform"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TesseraServer",
            dependencies: [
                "TesseraCore", "TesseraCrypto", "TesseraStore", "TesseraAccounts", "TesseraOAuth", "TesseraHTTP",
                "TesseraDirectory", "TesseraEnrolment", "TesseraPlatform",
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TesseraCLI",
            dependencies: [
                "TesseraServer", "TesseraAccounts", "TesseraOAuth", "TesseraEnrolment", "TesseraCore", "TesseraStore",
                "TesseraHTTP", "TesseraPlatform",
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(name: "tessera", dependencies: ["TesseraCLI"], swiftSettings: swiftSettings),

        .testTarget(
            name: "CLibraryTests", dependencies: ["COpenSSL", "CLDAP", "CKerberos", "CSQLite", "CPostgres"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "TesseraPlatformTests", dependencies: ["TesseraPlatform", "CTesseraShims"],
            swiftSettings: swiftSettings),
        .testTarget(name: "TesseraCoreTests", dependencies: ["TesseraCore"], swiftSettings: swiftSettings),
        .testTarget(name: "TesseraCryptoTests", dependencies: ["TesseraCrypto"], swiftSettings: swiftSettings),
        .testTarget(
            name: "TesseraStoreTests", dependencies: ["TesseraStore", "TesseraCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "TesseraAccountsTests",
            dependencies: ["TesseraAccounts", "TesseraStore", "TesseraCore", "TesseraCrypto", "CSQLite"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "TesseraServerTests", dependencies: ["TesseraServer", "TesseraCore", "TesseraDirectory"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "TesseraCLITests", dependencies: ["TesseraCLI", "TesseraServer", "TesseraCore"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "TesseraOAuthTests",
            dependencies: ["TesseraOAuth", "TesseraAccounts", "TesseraStore", "TesseraCore", "TesseraCrypto"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TesseraHTTPTests", dependencies: ["TesseraHTTP", "TesseraTestSupport"], swiftSettings: swiftSettings),
        // Real servers for tests (slapd), shared by the test targets that need them.
        .target(name: "TesseraTestSupport", path: "Tests/TesseraTestSupport", swiftSettings: swiftSettings),
        .testTarget(
            name: "TesseraDirectoryTests",
            dependencies: [
                "TesseraDirectory", "TesseraCore", "TesseraPlatform", "TesseraTestSupport", "TesseraAccounts",
                "TesseraStore",
                "TesseraCrypto",
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "TesseraEnrolmentTests",
            dependencies: ["TesseraEnrolment", "TesseraCore", "TesseraCrypto", "TesseraStore"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "TesseraIntegrationTests",
            dependencies: [
                "TesseraServer", "TesseraHTTP", "TesseraCore", "TesseraStore", "TesseraCrypto", "TesseraTestSupport",
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
