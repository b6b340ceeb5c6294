// Replaces the npm package webrtc-polyfill (which needs node-datachannel's native binary,
// downloaded from GitHub at install time) with @roamhq/wrtc, whose binary ships in the
// npm tarball. Wired in through "overrides" in ../package.json.
import wrtc from '@roamhq/wrtc'

export const RTCPeerConnection = wrtc.RTCPeerConnection
export const RTCSessionDescription = wrtc.RTCSessionDescription
export const RTCIceCandidate = wrtc.RTCIceCandidate
export const RTCDataChannel = wrtc.RTCDataChannel
export default wrtc
