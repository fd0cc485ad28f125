import CCurlShim

/// A libcurl easy handle (`CURL *`, imported as a raw pointer) with typed `setopt`/`getinfo`.
///
/// Not thread-safe, like the handle itself: one thread at a time, and not while it is in a multi handle except from
/// the thread driving that multi.
struct CurlEasy {
    let handle: UnsafeMutableRawPointer

    /// Thrown by the setters: which option libcurl refused and why.
    struct OptionError: Error {
        let option: CURLoption
        let code: CURLcode
        var message: String {
            "libcurl refused option \(option.rawValue): \(String(cString: curl_easy_strerror(code)))"
        }
    }

    func set(_ option: CURLoption, _ value: Int) throws(OptionError) {
        try check(option, ccurl_easy_setopt_long(handle, option, value))
    }

    func set(_ option: CURLoption, offset value: Int64) throws(OptionError) {
        try check(option, ccurl_easy_setopt_off_t(handle, option, curl_off_t(value)))
    }

    /// A string option; libcurl copies the string.
    func set(_ option: CURLoption, _ value: String) throws(OptionError) {
        try check(option, ccurl_easy_setopt_pointer(handle, option, value))
    }

    /// A pointer option (a `curl_slist`, callback user data, the error buffer); not copied by libcurl.
    func set(_ option: CURLoption, pointer value: UnsafeRawPointer?) throws(OptionError) {
        try check(option, ccurl_easy_setopt_pointer(handle, option, value))
    }

    /// A blob option; libcurl copies the bytes (`CURL_BLOB_COPY`).
    func set(_ option: CURLoption, blob bytes: [UInt8]) throws(OptionError) {
        let code = bytes.withUnsafeBytes { ccurl_easy_setopt_blob(handle, option, $0.baseAddress, $0.count) }
        try check(option, code)
    }

    func long(_ info: CURLINFO) -> Int {
        var value = 0
        return ccurl_easy_getinfo_long(handle, info, &value) == CURLE_OK ? value : 0
    }

    func offset(_ info: CURLINFO) -> Int64 {
        var value: curl_off_t = 0
        return ccurl_easy_getinfo_off_t(handle, info, &value) == CURLE_OK ? Int64(value) : 0
    }

    func string(_ info: CURLINFO) -> String? {
        var value: UnsafePointer<CChar>?
        guard ccurl_easy_getinfo_string(handle, info, &value) == CURLE_OK, let value else { return nil }
        return String(cString: value)
    }

    /// A `*_TIME_T` info (microseconds) as a duration.
    func duration(_ info: CURLINFO) -> Duration { .microseconds(offset(info)) }

    private func check(_ option: CURLoption, _ code: CURLcode) throws(OptionError) {
        guard code == CURLE_OK else { throw OptionError(option: option, code: code) }
    }
}
