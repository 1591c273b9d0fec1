import Foundation
import TesseraCrypto
import TesseraPlatform

/// The sign-in page of the authorization endpoint: server-rendered HTML and CSS, no script, no external
/// assets, labelled fields, and every value HTML-escaped.
enum LoginPage {
    enum Form {
        case signIn(username: String?)
        case changePassword(username: String)
    }

    static let css = """
        :root{color-scheme:light dark;font-family:system-ui,-apple-system,"Segoe UI",sans-serif}
        body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:Canvas;color:CanvasText}
        main{width:min(24rem,92vw);padding:2rem;border:1px solid GrayText;border-radius:12px}
        h1{font-size:1.4rem;margin:0 0 .25rem}p{margin:.25rem 0 1rem}
        label{display:block;font-weight:600;margin:.9rem 0 .3rem}
        input{box-sizing:border-box;width:100%;padding:.6rem;font-size:1rem;border:1px solid GrayText;border-radius:6px}
        button{margin-top:1.3rem;width:100%;padding:.7rem;font-size:1rem;font-weight:600;border:0;border-radius:6px;background:#0a62d0;color:#fff}
        .alert{padding:.6rem .8rem;border-radius:6px;background:#fde8e8;color:#7a1010}
        .client{color:GrayText;font-size:.9rem}
        """

    /// The CSP hash of the stylesheet, so the page can forbid every other style and all scripts.
    static let cssHash = "sha256-" + Data(SHA256.hash(Array(css.utf8))).base64EncodedString()

    static func render(
        form: Form, clientName: String, message: String?, hidden: [(name: String, value: String)], csrf: String
    ) -> [UInt8] {
        var html = ""
        switch form {
        case .signIn:
            html += "<h1>Sign in</h1><p class=\"client\">to continue to \(escape(clientName))</p>"
        case .changePassword:
            html += "<h1>Choose a new password</h1><p class=\"client\">to continue to \(escape(clientName))</p>"
        }
        if let message {
            html += "<p class=\"alert\" role=\"alert\">\(escape(message))</p>"
        }
        html += "<form method=\"post\" action=\"/oauth2/authorize\">"
        for (name, value) in hidden {
            html += "<input type=\"hidden\" name=\"\(escape(name))\" value=\"\(escape(value))\">"
        }
        html += "<input type=\"hidden\" name=\"csrf_token\" value=\"\(escape(csrf))\">"
        switch form {
        case .signIn(let username):
            html += """
                <input type="hidden" name="action" value="sign-in">
                <label for="username">Managed ID</label>
                <input id="username" name="username" type="email" autocomplete="username" required autocapitalize="none" spellcheck="false" value="\(escape(username ?? ""))">
                <label for="password">Password</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required>
                <button type="submit">Sign in</button>
                """
        case .changePassword(let username):
            html += """
                <input type="hidden" name="action" value="change-password">
                <label for="username">Managed ID</label>
                <input id="username" name="username" type="email" autocomplete="username" required readonly value="\(escape(username))">
                <label for="password">Temporary password</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required>
                <label for="new_password">New password (at least 12 characters)</label>
                <input id="new_password" name="new_password" type="password" autocomplete="new-password" minlength="12" required>
                <label for="confirm_password">Repeat the new password</label>
                <input id="confirm_password" name="confirm_password" type="password" autocomplete="new-password" minlength="12" required>
                <button type="submit">Change password and continue</button>
                """
        }
        html += "</form>"
        return document(title: "Sign in", main: html)
    }

    /// The sign-out page: a button that posts to itself, then the confirmation.
    static func signOut(done: Bool) -> [UInt8] {
        let body =
            done
            ? "<h1>Signed out</h1><p>This browser no longer remembers your sign-in.</p>"
            : "<h1>Sign out</h1><p>Forget the sign-in remembered in this browser.</p>"
                + "<form method=\"post\" action=\"/oauth2/sign-out\"><button type=\"submit\">Sign out</button></form>"
        return document(title: "Sign out", main: body)
    }

    static func error(_ message: String) -> [UInt8] {
        document(
            title: "Cannot sign in",
            main: "<h1>Cannot continue</h1><p class=\"alert\" role=\"alert\">\(escape(message))</p>"
                + "<p>Return to the app you came from and try again.</p>")
    }

    /// The page around `main` (trusted markup): one shell, one stylesheet, for every page.
    private static func document(title: String, main: String) -> [UInt8] {
        let html = """
            <!doctype html>
            <html lang="en">
            <head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
            <title>\(title) · Tessera</title><style>\(css)</style></head>
            <body><main>\(main)</main></body></html>

            """
        return Array(html.utf8)
    }

    /// HTML escaping for text and attribute values.
    static func escape(_ text: String) -> String { MarkupText.escaped(text) }
}
