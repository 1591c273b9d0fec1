import Foundation
import Testing

@testable import TesseraCrypto

/// The JSON parser behind every JOSE header, claim set and JWK set Tessera reads.
@Suite struct JSONParserTests {
    func parse(_ text: String) throws -> [String: JSONValue] { try JSONValue.parseObject(Array(text.utf8)) }

    @Test func parsesWhatRFC8259Allows() throws {
        let object = try parse(
            #" { "s" : "a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00é" , "i": -42, "z": -0, "big": 12345678901234567890123,"#
                + #" "d": 1.5e-3, "e": 2E+2, "t": true, "f": false, "n": null, "a": [1, [ ], {"k": "v"}], "o": {} } "#
                + "\n")
        #expect(object["s"] == .string("a\"b\\c/d\u{8}\u{c}\n\r\t\u{e9}\u{1F600}é"))
        #expect(object["i"] == .int(-42) && object["z"] == .int(0))
        #expect(object["big"] == .double(12345678901234567890123))
        #expect(object["d"] == .double(0.0015) && object["e"] == .double(200))
        #expect(object["t"] == .bool(true) && object["f"] == .bool(false) && object["n"] == .null)
        #expect(object["a"] == .array([.int(1), .array([]), .object(["k": .string("v")])]))
        #expect(object["o"] == .object([:]))
        #expect(try parse("{}").isEmpty)
        // Integers beyond Int are doubles, as NumericDate reads them.
        #expect(try parse(#"{"exp": 9223372036854775807}"#)["exp"] == .int(Int.max))
        #expect(try parse(#"{"exp": 9223372036854775808}"#)["exp"] == .double(9_223_372_036_854_775_808))
    }

    @Test func agreesWithFoundationOnTokensOfTheWild() throws {
        let documents = [
            #"{"alg":"ES256","typ":"at+jwt","kid":"k-1"}"#,
            #"{"iss":"https://id.example.com","sub":"c1","aud":["tessera","mdm"],"exp":1800000900,"iat":1800000000,"jti":"a.b","scope":"mdm devices","roles":["staff"],"x":{"y":[null,true,3.25]}}"#,
            #"{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#,
        ]
        for document in documents {
            let ours = try parse(document)
            let theirs = try #require(try JSONSerialization.jsonObject(with: Data(document.utf8)) as? NSDictionary)
            #expect(NSDictionary(dictionary: ours.mapValues(Self.foundation)) == theirs, "\(document)")
        }
    }

    static func foundation(_ value: JSONValue) -> Any {
        switch value {
        case .null: NSNull()
        case .bool(let value): value
        case .int(let value): value
        case .double(let value): value
        case .string(let value): value
        case .array(let values): values.map(foundation)
        case .object(let members): members.mapValues(foundation)
        }
    }

    @Test func refusesEverythingElse() {
        let refused: [String] = [
            "", " ", "[]", "\"s\"", "1", "null", "{", "}", "{}{}", "{} x", "{,}", #"{"a":1,}"#, #"{"a":[1,]}"#,
            #"{"a" 1}"#, #"{a:1}"#, "{'a':1}", #"{"a":01}"#, #"{"a":1.}"#, #"{"a":.5}"#, #"{"a":+1}"#, #"{"a":1e}"#,
            #"{"a":-}"#, #"{"a":NaN}"#, #"{"a":Infinity}"#, #"{"a":1e400}"#, #"{"a":tru}"#, #"{"a":nul}"#,
            #"{"a":"\x"}"#, #"{"a":"\u12"}"#, #"{"a":"\u12G4"}"#, #"{"a":"\ud83d"}"#, #"{"a":"\ud83d\u0041"}"#,
            #"{"a":"\ude00"}"#, "{\"a\":\"tab\there\"}", #"{"a":"open}"#, #"{"a":1,"a":2}"#,
            #"{"kid":"a","\u006bid":"b"}"#, #"{"x":{"a":1,"a":1}}"#, #"{"a":[{"b":1,"b":2}]}"#,
        ]
        for text in refused {
            #expect(throws: (any Error).self, "\(text)") { try parse(text) }
        }
        // Bytes that are not UTF-8 (a lone continuation byte, an overlong "/"), inside a string or outside.
        for bytes: [UInt8] in [
            Array(#"{"a":""#.utf8) + [0x80] + Array(#""}"#.utf8), Array(#"{"a":""#.utf8) + [0xC0, 0xAF, 0x22, 0x7D],
            [0x7B, 0xFF, 0x7D],
        ] {
            #expect(throws: (any Error).self, "\(bytes)") { try JSONValue.parseObject(bytes) }
        }
    }

    @Test func moreInvalidUTF8AndNumbers() throws {
        // Overlong "/", an encoded surrogate, beyond U+10FFFF, a truncated sequence; inside a string,
        // and after an escape.
        for bad: [UInt8] in [[0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]] {
            let plain = Array(#"{"a":""#.utf8) + bad + Array(#""}"#.utf8)
            let escaped = Array(#"{"a":"\n"#.utf8) + bad + Array(#""}"#.utf8)
            #expect(throws: JSONParser.Failure.self, "\(bad)") { try JSONValue.parseObject(plain) }
            #expect(throws: JSONParser.Failure.self, "\(bad)") { try JSONValue.parseObject(escaped) }
        }
        #expect(
            try parse(#"{"tiny": 1e-400, "nz": -0.0, "one": 1.0, "hundred": 1e2}"#) == [
                "tiny": .double(0), "nz": .double(-0.0), "one": .double(1), "hundred": .double(100),
            ])
    }

    /// Names Swift holds equal (canonically equivalent) are one dictionary key: refused as repeated,
    /// never one silently dropped. Text crafted against the normaliser (long runs of combining marks)
    /// is refused before anything hashes or compares it.
    @Test func equivalentNamesAndCombiningRuns() throws {
        #expect(throws: JSONParser.Failure.self) { try parse(#"{"\u00e9":1,"e\u0301":2}"#) }
        #expect(throws: JSONParser.Failure.self) { try parse(#"{"K":1,"\u212a":2}"#) }
        #expect(try parse(#"{"e\u0301\u0316":1}"#).count == 1)
        let marks = String(repeating: #"\u0300"#, count: 31)
        #expect(throws: JSONParser.Failure.self) { try parse(#"{"a"# + marks + #"":1}"#) }
        #expect(throws: JSONParser.Failure.self) { try parse(#"{"a":"a"# + marks + #""}"#) }
        #expect(try parse("{\"a\":\"a\(String(repeating: "\u{300}", count: 30))\"}").count == 1)
    }

    @Test func nestingIsBounded() throws {
        func nested(_ depth: Int) -> String {
            "{\"a\":" + String(repeating: "[", count: depth - 1) + String(repeating: "]", count: depth - 1) + "}"
        }
        #expect(try parse(nested(JSONParser.maximumDepth)).count == 1)
        #expect(throws: JSONParser.Failure.self) { try parse(nested(JSONParser.maximumDepth + 1)) }
        #expect(throws: JSONParser.Failure.self) { try parse(nested(100_000)) }
    }
}
