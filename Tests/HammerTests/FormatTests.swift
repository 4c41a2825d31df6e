import Foundation
import Testing

@testable import Hammer

@Suite struct TimestampTests {
    @Test func formatsUTCWithMicroseconds() {
        let date = Date(timeIntervalSince1970: 1_589_546_785.789143)
        #expect(Timestamp.format(date) == "2020-05-15T12:46:25.789143Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000000Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: -0.5)) == "1969-12-31T23:59:59.500000Z")
    }

    @Test func parsesRFC3339() throws {
        let utc = try #require(Timestamp.parse("2020-05-15T12:46:25.789143Z"))
        #expect(Timestamp.format(utc.date) == "2020-05-15T12:46:25.789143Z")
        let offset = try #require(Timestamp.parse("2020-05-15T09:46:25-03:00"))
        #expect(Timestamp.format(offset.date) == "2020-05-15T12:46:25.000000Z")
        let spaced = try #require(Timestamp.parse("2020-05-15T15:46:25 03:00"))
        #expect(spaced.normalized == "2020-05-15T15:46:25+03:00")
        #expect(Timestamp.format(spaced.date) == "2020-05-15T12:46:25.000000Z")
    }

    @Test func earlyYearsStayInTheProlepticCalendarPostgreSQLUses() throws {
        // Foundation's calendar turns Julian before 1582; PostgreSQL and `format` do not.
        let first = try #require(Timestamp.parse("0001-01-01T00:00:00.0-00:00"))
        #expect(Timestamp.format(first.date) == "0001-01-01T00:00:00.000000Z")
        #expect(Timestamp.format(try #require(Timestamp.parse("1500-03-01T12:00:00+01:00")).date) == "1500-03-01T11:00:00.000000Z")
        #expect(Timestamp.format(try #require(Timestamp.parse("2024-02-29T23:59:59Z")).date) == "2024-02-29T23:59:59.000000Z")
        #expect(Timestamp.parse("2023-02-29T00:00:00Z") == nil)
        #expect(Timestamp.parse("1900-02-29T00:00:00Z") == nil)
    }

    @Test(arguments: [
        "", "2020-05-15", "2020-05-15T12:46:25", "2020-13-15T12:46:25Z", "2020-02-30T00:00:00Z", "2020-05-15T25:00:00Z",
        "2020-05-15T12:46:25.Z", "2020-05-15T12:46:25+3:00", "yesterday", "2020-05-15T12:46:25Zjunk", "2020-05-15T12:46:25.1234567890Z",
    ])
    func rejectsOtherShapes(input: String) {
        #expect(Timestamp.parse(input) == nil)
    }
}

@Suite struct IdentifierTests {
    @Test func ulidsAreCrockfordAndSortByTime() {
        let early = ULID.make(date: Date(timeIntervalSince1970: 1_000_000))
        let late = ULID.make(date: Date(timeIntervalSince1970: 2_000_000))
        #expect(early.count == 26)
        #expect(early.wholeMatch(of: /[0-9A-HJKMNP-TV-Z]{26}/) != nil)
        #expect(early < late)
        #expect(Set((0..<1000).map { _ in ULID.make() }).count == 1000)
    }

    @Test func generatedSecretsAreWhsecWith32Bytes() throws {
        let secret = SecretToken.generate()
        #expect(secret.hasPrefix("whsec_"))
        #expect(SecretToken.keyBytes(secret)?.count == 32)
        #expect(SecretToken.generate() != secret)
        #expect(SecretToken.keyBytes("plain") == Data("plain".utf8))
        #expect(SecretToken.keyBytes("whsec_!!") == nil)
    }

    @Test func idRule() {
        for valid in ["a", "topic", "A.b+c-d_e", String(repeating: "x", count: 255)] {
            #expect(Validation.isValidID(valid), "\(valid)")
        }
        for invalid in ["", "a b", "a/b", "../etc", "é", "a'b", String(repeating: "x", count: 256)] {
            #expect(!Validation.isValidID(invalid), "\(invalid)")
        }
    }

    @Test func webhookURLRule() {
        for valid in ["http://example.com", "https://example.com:8443/a?b=c", "http://127.0.0.1:9000/hook"] {
            #expect(Validation.isValidWebhookURL(valid), "\(valid)")
        }
        for invalid in ["", "example.com", "ftp://example.com", "http://", "https:///path", "http://exa mple.com", "javascript:alert(1)"] {
            #expect(!Validation.isValidWebhookURL(invalid), "\(invalid)")
        }
    }
}

@Suite struct SQLStatementsTests {
    @Test func splitsOnSemicolonsOutsideQuotesCommentsAndDollarBodies() {
        let script = """
            -- leading comment; not a statement
            CREATE TABLE a (x text DEFAULT 'semi;colon');
            /* block; comment */ CREATE INDEX a_idx ON a (x);
            CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END; $$;
            CREATE FUNCTION g() RETURNS text LANGUAGE sql AS $body$ SELECT 'x;y' $body$;
            SELECT "we;ird" FROM a
            """
        let statements = SQLStatements.split(script)
        #expect(statements.count == 5)
        #expect(statements[0].hasSuffix("CREATE TABLE a (x text DEFAULT 'semi;colon')"))
        #expect(statements[1] == "/* block; comment */ CREATE INDEX a_idx ON a (x)")
        #expect(statements[2] == "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END; $$")
        #expect(statements[3] == "CREATE FUNCTION g() RETURNS text LANGUAGE sql AS $body$ SELECT 'x;y' $body$")
        #expect(statements[4] == #"SELECT "we;ird" FROM a"#)
    }

    @Test func splitsTheRealMigrations() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let migrations = try Migrator.load(directory: root.appendingPathComponent("migrations").path)
        let first = try #require(migrations.first)
        let statements = SQLStatements.split(first.up)
        #expect(statements.first?.contains("CREATE FUNCTION hammer_ulid()") == true)
        #expect(statements.filter { $0.contains("CREATE TABLE") }.count == 5)
    }

    @Test func theEmbeddedMigrationsAreTheFilesOfTheMigrationsDirectory() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let files = try Migrator.load(directory: root.appendingPathComponent("migrations").path)
        let embedded = try Migrator.embedded()
        #expect(embedded.map(\.version) == files.map(\.version))
        #expect(embedded == files, "a migration file changed or was added without Storage/EmbeddedMigrations.swift")
        #expect(embedded.last?.version == Migrator.requiredVersion)
        #expect(embedded.allSatisfy { $0.down != nil })
    }
}
