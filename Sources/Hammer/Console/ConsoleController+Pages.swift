import Foundation
import HTTPTypes
import Hummingbird

extension ConsoleController {
    /// A page: `build`'s view with the layout's values; a `HammerError` (unknown id, bad query) renders the error
    /// page with the status the API would answer. Sets the CSRF cookie when the browser has none yet.
    func page(
        _ request: Request,
        _ template: String,
        title: String,
        nav: String,
        _ build: () async throws -> [String: Any]
    ) async throws -> Response {
        var view: [String: Any]
        var template = template
        var status = HTTPResponse.Status.ok
        do {
            view = try await build()
        } catch let error as HammerError {
            (view, template, status) = (["heading": title + " not shown", "message": error.message], "error", error.status)
        }
        return respond(request, template, title: title, nav: nav, view: view, status: status, signedIn: session != nil)
    }

    /// A form's action after its CSRF token is checked: `perform` returns where to go next (303). A `HammerError`
    /// (a pending delivery cannot be redelivered) renders the error page with the API's status.
    func action(_ request: Request, _ perform: () async throws -> String) async throws -> Response {
        let form = try await Self.form(request)
        guard Self.csrfMatches(request, form) else { return csrfRefused(request) }
        do {
            return Response(status: .seeOther, headers: [.location: try await perform()])
        } catch let error as HammerError {
            let view: [String: Any] = ["heading": "Not done", "message": error.message]
            return respond(request, "error", title: "Not done", nav: "", view: view, status: error.status, signedIn: session != nil)
        }
    }

    @Sendable func loginForm(_ request: Request, context: BasicRequestContext) async throws -> Response {
        guard session != nil else { return Response(status: .seeOther, headers: [.location: "/ui"]) }
        return respond(request, "login", title: "Sign in", nav: "", view: [:])
    }

    /// Opens a session for a key of `HAMMER_API_KEYS`: a signed, HttpOnly, SameSite=Strict cookie for 12 hours.
    @Sendable func login(_ request: Request, context: BasicRequestContext) async throws -> Response {
        guard let session else { return Response(status: .seeOther, headers: [.location: "/ui"]) }
        let form = try await Self.form(request)
        guard Self.csrfMatches(request, form) else { return csrfRefused(request) }
        guard let key = form["key"], session.keys.accept("Bearer " + key) else {
            let view: [String: Any] = ["notice": "That is not one of the server's API keys."]
            return respond(request, "login", title: "Sign in", nav: "", view: view, status: .unauthorized)
        }
        var response = Response(status: .seeOther, headers: [.location: "/ui"])
        response.setCookie(cookie(request, ConsoleSession.cookieName, session.open(key: key), maxAge: Int(ConsoleSession.lifetime)))
        return response
    }

    @Sendable func logout(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let form = try await Self.form(request)
        guard Self.csrfMatches(request, form) else { return csrfRefused(request) }
        var response = Response(status: .seeOther, headers: [.location: session == nil ? "/ui" : "/ui/login"])
        response.setCookie(cookie(request, ConsoleSession.cookieName, "", maxAge: 0))
        return response
    }

    private func csrfRefused(_ request: Request) -> Response {
        let view: [String: Any] = ["heading": "Form expired", "message": "The form's security token did not match: reload the page and try again."]
        return respond(request, "error", title: "Form expired", nav: "", view: view, status: .forbidden)
    }

    private func respond(
        _ request: Request,
        _ template: String,
        title: String,
        nav: String,
        view: [String: Any],
        status: HTTPResponse.Status = .ok,
        signedIn: Bool = false
    ) -> Response {
        let existing = request.cookies[ConsoleSession.csrfCookieName]?.value
        let csrf = existing.flatMap { $0.isEmpty ? nil : $0 } ?? ConsoleSession.newCSRFToken()
        var view = view
        view["title"] = title
        view["nav"] = [nav: true]
        view["csrf"] = csrf
        // Pages behind `ConsoleAccessMiddleware` have a valid session when there are keys; the login pages have none.
        view["signedIn"] = signedIn
        var response = pages.render(template, view, status: status)
        if existing != csrf { response.setCookie(cookie(request, ConsoleSession.csrfCookieName, csrf, maxAge: nil)) }
        return response
    }

    /// The console's cookies: HttpOnly, SameSite=Strict, for `/ui` only; `Secure` when `HAMMER_CONSOLE_SECURE_COOKIES`
    /// is set or the request came over https (a proxy's `X-Forwarded-Proto: https`).
    func cookie(_ request: Request, _ name: String, _ value: String, maxAge: Int?) -> Cookie {
        let https = request.headers[Self.forwardedProto]?.lowercased() == "https"
        return Cookie(name: name, value: value, maxAge: maxAge, path: "/ui", secure: secureCookies || https, httpOnly: true, sameSite: .strict)
    }

    static let forwardedProto = HTTPField.Name("X-Forwarded-Proto")!

    /// Double-submit check: the form's `csrf` equals the cookie this console set (a cross-site form cannot read it,
    /// and SameSite=Strict keeps the browser from sending it along).
    static func csrfMatches(_ request: Request, _ form: [String: String]) -> Bool {
        guard let cookie = request.cookies[ConsoleSession.csrfCookieName]?.value, !cookie.isEmpty, let field = form["csrf"] else { return false }
        return cookie == field
    }

    /// An `application/x-www-form-urlencoded` body (at most 16 KiB).
    static func form(_ request: Request) async throws -> [String: String] {
        let buffer = try await request.body.collect(upTo: 16 * 1024)
        var components = URLComponents()
        components.percentEncodedQuery = String(buffer: buffer).replacingOccurrences(of: "+", with: "%20")
        var fields: [String: String] = [:]
        for item in components.queryItems ?? [] where fields[item.name] == nil { fields[item.name] = item.value ?? "" }
        return fields
    }
}
