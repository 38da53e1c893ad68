/**
 * Headless Debian Chromium for the screenshot scripts, with the flags this network needs: without the
 * background-networking ones it tries, and fails, to reach Google's hosts at every start.
 */
import { chromium, type Browser } from 'playwright-core';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
