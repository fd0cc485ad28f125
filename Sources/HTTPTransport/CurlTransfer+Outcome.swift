import CCurlShim

extension CurlTransfer {
    /// The response, or the error, for a transfer libcurl finished with `code`. Loop thread only.
    func outcome(_ code: CURLcode) -> Result<HTTPClient.Response, HTTPTransportError> {
        guard code == CURLE_OK else { return .failure(error(for: code)) }
        let ip = easy.string(CURLINFO_PRIMARY_IP) ?? ""
        let response = HTTPClient.Response(
            status: easy.long(CURLINFO_RESPONSE_CODE),
            headers: headers,
            body: body,
            url: url,
            remoteAddress: ip.isEmpty ? nil : ConnectedAddress(ip: ip, port: easy.long(CURLINFO_PRIMARY_PORT)),
            httpVersion: HTTPVersion(curlVersion: easy.long(CURLINFO_HTTP_VERSION)),
            timings: HTTPTimings(
                nameLookup: easy.duration(CURLINFO_NAMELOOKUP_TIME_T),
                connect: easy.duration(CURLINFO_CONNECT_TIME_T),
                tlsHandshake: easy.duration(CURLINFO_APPCONNECT_TIME_T),
                firstByte: easy.duration(CURLINFO_STARTTRANSFER_TIME_T),
                total: easy.duration(CURLINFO_TOTAL_TIME_T)
            ),
            newConnections: easy.long(CURLINFO_NUM_CONNECTS),
            redirectLocation: easy.string(CURLINFO_REDIRECT_URL)
        )
        return .success(response)
    }

    /// Classifies a libcurl failure, using what the callbacks recorded (a refused address, an exceeded cap, whether
    /// the connection was ready) to tell apart failures libcurl reports with one code.
    func error(for code: CURLcode) -> HTTPTransportError {
        let host = url.host
        let message = curlMessage ?? String(cString: curl_easy_strerror(code))
        let curlCode = Int(code.rawValue)
        func make(_ kind: HTTPTransportError.Code, limit: Int? = nil) -> HTTPTransportError {
            HTTPTransportError(kind, host: host, detail: message, limit: limit, curlCode: curlCode)
        }

        // Refused before any socket opened (every address of the host refused), or refused once connected.
        if let refused = refusedAddress,
           code == CURLE_ABORTED_BY_CALLBACK || (code == CURLE_COULDNT_CONNECT && allowedSockets == 0) {
            return HTTPTransportError(.addressRefused, host: host, address: refused)
        }
        switch overflow {
        case .body: return make(.responseTooLarge, limit: maxBodyBytes)
        case .headers: return make(.headersTooLarge, limit: maxHeaderBytes)
        case nil: break
        }
        switch code {
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL:
            return make(.invalidURL)
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT:
            return make(.connectFailed)
        case CURLE_OPERATION_TIMEDOUT:
            // The connect limit ran out if the connection never became ready and it was the shorter limit;
            // otherwise the total limit did.
            return make(!connectionReady && connectLimitFirst ? .connectTimeout : .timeout)
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_INVALIDCERTSTATUS,
             CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_CRL_BADFILE:
            return make(.certificateVerificationFailed)
        case CURLE_SSL_CONNECT_ERROR where Self.looksLikeReset(message):
            return make(.connectionReset)
        case CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER, CURLE_SSL_ENGINE_NOTFOUND,
             CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_ENGINE_INITFAILED, CURLE_USE_SSL_FAILED, CURLE_SSL_SHUTDOWN_FAILED,
             CURLE_SSL_CLIENTCERT:
            return make(.tlsFailure)
        case CURLE_RECV_ERROR where Self.looksLikeTLSAlert(message),
             CURLE_SEND_ERROR where Self.looksLikeTLSAlert(message):
            // A TLS 1.3 server reports a rejected client certificate with an alert after the handshake.
            return make(.tlsFailure)
        case CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, CURLE_HTTP2,
             CURLE_HTTP2_STREAM:
            return make(.connectionReset)
        case CURLE_FILESIZE_EXCEEDED:
            return make(.responseTooLarge, limit: maxBodyBytes)
        case CURLE_WEIRD_SERVER_REPLY, CURLE_BAD_CONTENT_ENCODING:
            return make(.invalidResponse)
        default:
            return make(.other)
        }
    }

    private static func looksLikeReset(_ message: String) -> Bool {
        message.contains("SSL_ERROR_SYSCALL") || message.contains("Connection reset")
            || message.contains("unexpected eof")
    }

    private static func looksLikeTLSAlert(_ message: String) -> Bool {
        message.contains("alert") && (message.contains("SSL") || message.contains("TLS"))
    }
}
