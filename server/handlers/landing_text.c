/*
 * landing_text.c: the pages' texts. %s and %d are filled in order by
 * landing.c, each value escaped. Chinese texts use Chinese punctuation
 * (，。：；（）) and no plural, and no space after a time (it ends with its
 * time zone in full-width parentheses); English has a singular for counts of 1.
 */
#include "handlers/landing_text.h"

#include <stddef.h>

/* [T_...]: English, zh-CN, zh-Hant, English singular (NULL: the same as the plural) */
static const char *const texts[T_COUNT][4] = {
    [T_TITLE] = {"Product check", "产品验证", "產品驗證", NULL},
    [T_HOME] = {"Check a product", "验证产品", "驗證產品", NULL},
    [T_HOME_SUB] = {"Type the code printed on the pack, next to the QR code.",
                    "请输入包装上二维码旁印刷的防伪码。", "請輸入包裝上 QR 碼旁印刷的防偽碼。",
                    NULL},
    [T_HOME_FIELD] = {"Code on the pack", "包装上的防伪码", "包裝上的防偽碼", NULL},
    [T_HOME_HINT] = {"20 letters and digits; spaces and hyphens do not matter.",
                     "共 20 位字母和数字，空格和连字符可省略。",
                     "共 20 位字母和數字，空格和連字號可省略。", NULL},
    [T_CHECK] = {"Check", "验证", "驗證", NULL},
    [T_GENUINE] = {"Genuine", "正品", "正品", NULL},
    [T_GENUINE_SUB] = {"This code was issued by the brand.", "此码由品牌方签发。",
                       "此碼由品牌方簽發。", NULL},
    [T_MINE] = {"Genuine, points claimed", "正品，积分已领取", "正品，積分已領取", NULL},
    [T_MINE_SUB] = {"The points of this code were claimed from this phone on %s.",
                    "此码的积分已于 %s在这部手机上领取。", "此碼的積分已於 %s在這支手機上領取。",
                    NULL},
    [T_COPIED] = {"Checked by %d people", "已有 %d 人查验过此码", "已有 %d 人查驗過此碼",
                  "Checked by %d person"},
    [T_COPIED_SUB] = {"First on %s: if that was not you, this code may have been copied.",
                      "首次查验于 %s：如果那不是您，此码可能已被复制。",
                      "首次查驗於 %s：如果那不是您，此碼可能已被複製。", NULL},
    [T_TAKEN_PAGE] = {"Points already claimed", "积分已被领取", "積分已被領取", NULL},
    [T_TAKEN_PAGE_SUB] = {"Its points were already claimed on %s — if you just bought it, "
                          "report it.",
                          "此码的积分已于 %s被领取。如果您刚买下这件商品，请举报。",
                          "此碼的積分已於 %s被領取。如果您剛買下這件商品，請檢舉。", NULL},
    [T_REPORT] = {"Report this code", "举报此码", "檢舉此碼", NULL},
    [T_REPORT_HINT] = {"The brand is told that this code may have been copied.",
                       "品牌方将收到此码可能被复制的通知。", "品牌方將收到此碼可能被複製的通知。",
                       NULL},
    [T_REPORTED] = {"Thank you", "感谢您的举报", "感謝您的檢舉", NULL},
    [T_REPORTED_SUB] = {"The brand has been told about this code (report %d).",
                        "品牌方已收到关于此码的举报（编号 %d）。",
                        "品牌方已收到關於此碼的檢舉（編號 %d）。", NULL},
    [T_FORGED] = {"Not a genuine code", "非正品码", "非正品碼", NULL},
    [T_FORGED_SUB] = {"The brand did not issue this code. The product may be counterfeit.",
                      "品牌方未签发此码，该产品可能是假冒品。",
                      "品牌方未簽發此碼，該產品可能是仿冒品。", NULL},
    [T_TYPO] = {"Check the characters", "请核对字符", "請核對字元", NULL},
    [T_TYPO_SUB] = {"A character is mistyped or two are swapped. Compare the code with the pack.",
                    "有字符输入错误或相邻字符顺序颠倒，请与包装上的码核对。",
                    "有字元輸入錯誤或相鄰字元順序顛倒，請與包裝上的碼核對。", NULL},
    [T_RECALLED] = {"Batch recalled", "该批次已召回", "該批次已召回", NULL},
    [T_RECALLED_SUB] = {"This product's batch has been recalled. Please do not use it.",
                        "该产品所属批次已被召回，请勿使用。", "該產品所屬批次已被召回，請勿使用。",
                        NULL},
    [T_VOID] = {"Not a valid code", "无效码", "無效碼", NULL},
    [T_VOID_SUB] = {"This code belongs to a print run that was never released.",
                    "此码所属的印刷批次未曾投放。", "此碼所屬的印刷批次未曾投放。", NULL},
    [T_REVOKED] = {"Code no longer valid", "此码已失效", "此碼已失效", NULL},
    [T_REVOKED_SUB] = {"The key that signed this code has been revoked.",
                       "签发此码的密钥已被吊销。", "簽發此碼的金鑰已被撤銷。", NULL},
    [T_INACTIVE] = {"Not released for sale", "未放行销售", "未放行銷售", NULL},
    [T_INACTIVE_SUB] =
        {"The brand never released this pack for sale: it may have left the "
         "factory or a warehouse without authorisation. Do not buy it; the "
         "brand has been told.",
         "品牌方从未放行此产品销售，它可能未经授权流出工厂或仓库。请勿购买；品牌方已收到通知。",
         "品牌方從未放行此產品銷售，它可能未經授權流出工廠或倉庫。請勿購買；品牌方已收到通知。",
         NULL},
    [T_CODE_VOID] = {"Code voided", "此码已作废", "此碼已作廢", NULL},
    [T_CODE_VOID_SUB] = {"The brand voided this code: this pack should not be on sale.",
                         "品牌方已作废此码，该产品不应在售。", "品牌方已作廢此碼，該產品不應在售。",
                         NULL},
    [T_STOLEN] = {"Reported stolen", "已报失窃", "已報失竊", NULL},
    [T_STOLEN_SUB] = {"This pack was reported stolen on its way to the shops. Do not buy it, and "
                      "tell the brand where you found it.",
                      "此产品已被报告在流通途中失窃。请勿购买，并告知品牌方您在何处发现它。",
                      "此產品已被報告在流通途中失竊。請勿購買，並告知品牌方您在何處發現它。", NULL},
    [T_DESTROYED] = {"Recorded as destroyed", "已登记销毁", "已登記銷毀", NULL},
    [T_DESTROYED_SUB] = {"The brand recorded this pack as destroyed: one on sale is not what it "
                         "claims to be.",
                         "品牌方已登记此产品为已销毁，在售的同码产品并非其所声称的商品。",
                         "品牌方已登記此產品為已銷毀，在售的同碼產品並非其所聲稱的商品。", NULL},
    [T_SAMPLE] = {"Genuine sample", "正品试用装", "正品試用裝", NULL},
    [T_SAMPLE_SUB] = {"This is a genuine sample, not for sale: it earns no points.",
                      "这是正品试用装，非卖品，不能领取积分。",
                      "這是正品試用裝，非賣品，不能領取積分。", NULL},
    [T_EXPIRED] = {"Expired", "已过期", "已過期", NULL},
    [T_EXPIRED_SUB] = {"This product expired on %s. Please do not use it.",
                       "此产品已于 %s过期，请勿使用。", "此產品已於 %s過期，請勿使用。", NULL},
    [T_EXPIRED_SUB_UNDATED] = {"This product's batch was taken out of sale as expired. Please do "
                               "not use it.",
                               "该产品所属批次已作为过期产品下架，请勿使用。",
                               "該產品所屬批次已作為過期產品下架，請勿使用。", NULL},
    [T_NOT_FOUND] = {"No such page", "页面不存在", "頁面不存在", NULL},
    [T_NOT_FOUND_SUB] = {"This address holds no code of ours. Type the code printed on the "
                         "pack instead.",
                         "此网址中没有我们的防伪码，请直接输入包装上印刷的防伪码。",
                         "此網址中沒有我們的防偽碼，請直接輸入包裝上印刷的防偽碼。", NULL},
    [T_PRODUCT] = {"Product", "产品", "產品", NULL},
    [T_BRAND] = {"Brand", "品牌", "品牌", NULL},
    [T_SKU] = {"Item", "货号", "貨號", NULL},
    [T_SCANS] = {"Scans", "扫码记录", "掃碼紀錄", NULL},
    [T_SCANS_N] = {"Scanned %d times, first on %s.", "已被扫描 %d 次，首次扫描于 %s。",
                   "已被掃描 %d 次，首次掃描於 %s。", "Scanned %d time, first on %s."},
    [T_CLAIM_H] = {"Claim %d points", "领取 %d 积分", "領取 %d 積分", "Claim %d point"},
    [T_MEMBER] = {"Phone number or member id", "手机号或会员号", "手機號碼或會員編號", NULL},
    [T_MEMBER_HINT] = {"As you dial it at home, or + and the country code from abroad.",
                       "国内号码直接输入；其他国家或地区请以 + 和国家代码开头。",
                       "本地號碼直接輸入；其他國家或地區請以 + 和國碼開頭。", NULL},
    [T_PIN] = {"PIN inside the pack", "包装内的验证码", "包裝內的驗證碼", NULL},
    [T_PIN_HINT] = {"Printed inside the cap or under the scratch-off layer",
                    "印在瓶盖内侧或刮开涂层下", "印在瓶蓋內側或刮開塗層下", NULL},
    [T_SUBMIT] = {"Claim points", "领取积分", "領取積分", NULL},
    [T_CODE] = {"Code", "防伪码", "防偽碼", NULL},
    [T_AWARDED] = {"%d points added", "已获得 %d 积分", "已獲得 %d 積分", "%d point added"},
    [T_AWARDED_SUB] = {"Your balance is now %d points.", "您当前的积分余额为 %d。",
                       "您目前的積分餘額為 %d。", "Your balance is now %d point."},
    [T_REPEAT] = {"Already yours", "您已领取过", "您已領取過", NULL},
    [T_REPEAT_SUB] = {"You claimed this code on %s. Your balance is %d points.",
                      "您已于 %s领取此码，当前积分余额为 %d。",
                      "您已於 %s領取此碼，目前積分餘額為 %d。",
                      "You claimed this code on %s. Your balance is %d point."},
    [T_TAKEN] = {"Already claimed", "积分已被领取", "積分已被領取", NULL},
    [T_TAKEN_SUB] = {"Another member claimed this code on %s — if you just bought it, report "
                     "it.",
                     "此码已于 %s被其他会员领取。如果您刚买下这件商品，请举报。",
                     "此碼已於 %s被其他會員領取。如果您剛買下這件商品，請檢舉。", NULL},
    [T_PIN_REQUIRED] = {"Enter the PIN printed inside the pack.", "请输入包装内的验证码。",
                        "請輸入包裝內的驗證碼。", NULL},
    [T_PIN_WRONG] = {"That PIN is not right. Check it and try again.",
                     "验证码不正确，请核对后重试。", "驗證碼不正確，請核對後重試。", NULL},
    [T_PIN_WRONG_WAIT] = {"That PIN is not right. Check it, then try again in %d seconds.",
                          "验证码不正确，请核对后在 %d 秒后重试。",
                          "驗證碼不正確，請核對後在 %d 秒後重試。",
                          "That PIN is not right. Check it, then try again in %d second."},
    [T_THROTTLED] = {"Too many wrong PINs", "验证码错误次数过多", "驗證碼錯誤次數過多", NULL},
    [T_THROTTLED_SUB] = {"Too many wrong PINs came from here. Try again in %d seconds.",
                         "此处输入错误验证码的次数过多，请 %d 秒后再试。",
                         "此處輸入錯誤驗證碼的次數過多，請 %d 秒後再試。",
                         "Too many wrong PINs came from here. Try again in %d second."},
    [T_THROTTLED_SUB_MIN] = {"Too many wrong PINs came from here. Try again in %d minutes.",
                             "此处输入错误验证码的次数过多，请 %d 分钟后再试。",
                             "此處輸入錯誤驗證碼的次數過多，請 %d 分鐘後再試。",
                             "Too many wrong PINs came from here. Try again in %d minute."},
    [T_LIMITED] = {"Too many attempts", "操作过于频繁", "操作過於頻繁", NULL},
    [T_LIMITED_SUB] = {"Please wait %d seconds, then try again.", "请等待 %d 秒后再试。",
                       "請等待 %d 秒後再試。", "Please wait %d second, then try again."},
    [T_BAD_MEMBER] = {"Enter your phone number or your member id (letters, digits and . _ : @ "
                      "-).",
                      "请输入手机号或会员号（字母、数字及 . _ : @ -）。",
                      "請輸入手機號碼或會員編號（字母、數字及 . _ : @ -）。", NULL},
    [T_PHONE_NOT_A_NUMBER] = {"That is not a phone number: use digits, spaces and hyphens only.",
                              "这不是手机号：只能包含数字、空格和连字符。",
                              "這不是手機號碼：只能包含數字、空格和連字號。", NULL},
    [T_PHONE_BAD_COUNTRY] = {"No country has that calling code: check the digits after +.",
                             "没有国家或地区使用该代码：请核对 + 后面的数字。",
                             "沒有國家或地區使用該國碼：請核對 + 後面的數字。", NULL},
    [T_PHONE_TOO_SHORT] = {"That phone number is too short: a digit is missing.",
                           "手机号位数不足：少了数字。", "手機號碼位數不足：少了數字。", NULL},
    [T_PHONE_TOO_LONG] = {"That phone number is too long: there is a digit too many.",
                          "手机号位数过多：多了数字。", "手機號碼位數過多：多了數字。", NULL},
    [T_PHONE_BAD_LENGTH] = {"No phone number of that country has that many digits.",
                            "该国家或地区没有这个位数的电话号码。",
                            "該國家或地區沒有這個位數的電話號碼。", NULL},
    [T_PHONE_NO_SUCH_RANGE] = {"No phone number starts with those digits: check the first ones.",
                               "没有以这些数字开头的电话号码：请核对开头几位。",
                               "沒有以這些數字開頭的電話號碼：請核對開頭幾位。", NULL},
    [T_UNAVAILABLE] = {"Please try again", "请稍后再试", "請稍後再試", NULL},
    [T_UNAVAILABLE_SUB] = {"The service is busy right now. Nothing was claimed.",
                           "服务暂时繁忙，积分未领取。", "服務暫時繁忙，積分未領取。", NULL},
    [T_BACK] = {"Back to the product", "返回产品页", "返回產品頁", NULL},
    [T_SIGNIN_H] = {"Sign in to claim %d points", "登录后领取 %d 积分", "登入後領取 %d 積分",
                    "Sign in to claim %d point"},
    [T_SIGNIN_SUB] = {"Your points are kept under your mobile number.",
                      "积分将保存在您的手机号下。", "積分將保存在您的手機號碼下。", NULL},
    [T_PHONE] = {"Mobile number", "手机号", "手機號碼", NULL},
    [T_PHONE_HINT] =
        {"As you dial it at home, or + and the country code from abroad. We text "
         "you a 6-digit code.",
         "国内号码直接输入；其他国家或地区请以 + 和国家代码开头。我们将发送 6 位验证码短信。",
         "本地號碼直接輸入；其他國家或地區請以 + 和國碼開頭。我們將傳送 6 位驗證碼簡訊。", NULL},
    [T_SEND_CODE] = {"Text me a code", "获取短信验证码", "取得簡訊驗證碼", NULL},
    [T_OTP] = {"Code from the text message", "短信验证码", "簡訊驗證碼", NULL},
    [T_OTP_HINT] = {"Sent to %s. It is valid for 5 minutes.", "已发送至 %s，5 分钟内有效。",
                    "已傳送至 %s，5 分鐘內有效。", NULL},
    [T_VERIFY] = {"Sign in and claim", "登录并领取", "登入並領取", NULL},
    [T_CONSENT] = {"I agree to the privacy notice (version %s): my mobile number is kept "
                   "encrypted, to sign me in and keep my points.",
                   "我同意隐私声明（版本 %s）：手机号加密保存，仅用于登录和保存积分。",
                   "我同意隱私聲明（版本 %s）：手機號碼加密保存，僅用於登入和保存積分。", NULL},
    [T_OTP_WRONG] = {"That code is wrong or has expired. Check it, or ask for a new one.",
                     "验证码错误或已过期，请核对或重新获取。",
                     "驗證碼錯誤或已過期，請核對或重新取得。", NULL},
    [T_OTP_EXHAUSTED] = {"Too many wrong codes: ask for a new one.",
                         "验证码错误次数过多，请重新获取。", "驗證碼錯誤次數過多，請重新取得。",
                         NULL},
    [T_SMS_WAIT] = {"Please wait %d seconds before asking for another code.",
                    "请等待 %d 秒后再获取验证码。", "請等待 %d 秒後再取得驗證碼。",
                    "Please wait %d second before asking for another code."},
    [T_SMS_OFF] = {"Signing in is not available right now.", "暂时无法登录。", "暫時無法登入。",
                   NULL},
    [T_SIGNED_IN] = {"You are signed in.", "您已登录。", "您已登入。", NULL},
    [T_MY_POINTS] = {"My points", "我的积分", "我的積分", NULL},
    [T_SIGN_OUT] = {"Sign out", "退出登录", "登出", NULL},
    [T_ME_BALANCE] = {"%d points", "%d 积分", "%d 積分", "%d point"},
    [T_ME_EMPTY] = {"Nothing claimed yet.", "暂无领取记录。", "尚無領取紀錄。", NULL},
    [T_ME_SIGNIN] = {"Sign in to see your points", "登录查看积分", "登入查看積分", NULL},
    [T_ME_DOWNLOAD] = {"Download my data", "下载我的数据", "下載我的資料", NULL},
    [T_ME_SHARE] = {"Invite friends", "邀请好友", "邀請好友", NULL},
    [T_ME_SHARE_SUB] =
        {"Share your link: when a friend signs in through it and claims a pack for "
         "the first time, you both get points.",
         "分享您的专属链接：好友通过链接登录并首次领取积分后，您和好友都将获得积分奖励。",
         "分享您的專屬連結：好友透過連結登入並首次領取積分後，您和好友都將獲得積分獎勵。", NULL},
    [T_ME_COPY] = {"Copy", "复制", "複製", NULL},
    [T_ME_COPIED] = {"Copied", "已复制", "已複製", NULL},
    [T_ME_FRIENDS] = {"Friends rewarded", "已奖励好友", "已獎勵好友", NULL},
    [T_ME_EARNED] = {"Points from referrals", "邀请所得积分", "邀請所得積分", NULL},
    [T_FORM_EXPIRED] = {"This form has expired: please try again.", "页面已过期，请重试。",
                        "頁面已過期，請重試。", NULL},
    [T_TIMEZONE] = {"UTC", "北京时间", "UTC+8", NULL},
    [T_PRIVACY] = {"Privacy notice", "隐私声明", "隱私聲明", NULL},
    [T_PRIVACY_VERSION] = {"Version %s", "版本 %s", "版本 %s", NULL},
    [T_PRIVACY_READ] = {"Read the privacy notice", "阅读隐私声明", "閱讀隱私聲明", NULL},
    [T_PRIVACY_WHO] = {"This service is run for the brand whose product you checked. The brand "
                       "decides what your data is used for and answers for it.",
                       "本服务为您所查验产品的品牌方提供。品牌方决定您的信息的用途，并对其负责。",
                       "本服務為您所查驗產品的品牌方提供。品牌方決定您的資料的用途，並對其負責。",
                       NULL},
    [T_PRIVACY_PHONE] =
        {"Your mobile number (or your WeChat or sign-in account) is used only to sign you in "
         "and keep your points. It is stored encrypted; the brand's staff see it masked, "
         "except a few who are authorised, and each time they look it is recorded.",
         "您的手机号（或微信、登录账号）仅用于登录和保存积分。手机号加密保存；品牌方工作人员只能看"
         "到"
         "部分遮盖的号码，少数经授权的人员除外，且每次查看都有记录。",
         "您的手機號碼（或微信、登入帳號）僅用於登入和保存積分。手機號碼加密保存；品牌方工作人員只"
         "能"
         "看到部分遮蓋的號碼，少數經授權的人員除外，且每次查看都有紀錄。",
         NULL},
    [T_PRIVACY_SESSION] = {"Signing in keeps you signed in on this phone for 30 days (a cookie), "
                           "or until you sign out.",
                           "登录后，这部手机将保持登录 30 天（使用 Cookie），或直到您退出登录。",
                           "登入後，這支手機將保持登入 30 天（使用 Cookie），或直到您登出。", NULL},
    [T_PRIVACY_SCANS] =
        {"When you check a code we record the time, the code, your network "
         "address and your browser's name, to count checks and to detect "
         "copied codes.",
         "您查验时，我们记录时间、防伪码、您的网络地址和浏览器名称，用于统计查验次数和"
         "识别被复制的码。",
         "您查驗時，我們記錄時間、防偽碼、您的網路位址和瀏覽器名稱，用於統計查驗次數和"
         "識別被複製的碼。",
         NULL},
    [T_PRIVACY_SCANS_CUT] = {"After %d days the address is shortened to its network, which no "
                             "longer identifies you.",
                             "%d 天后，地址将被截短为其所在网段，不再能识别您。",
                             "%d 天後，位址將被截短為其所在網段，不再能識別您。",
                             "After %d day the address is shortened to its network, which no "
                             "longer identifies you."},
    [T_PRIVACY_SCANS_DAYS] = {"These records are deleted after %d days; only totals are kept.",
                              "这些记录将在 %d 天后删除，仅保留统计总数。",
                              "這些紀錄將在 %d 天後刪除，僅保留統計總數。",
                              "These records are deleted after %d day; only totals are kept."},
    [T_PRIVACY_SCANS_KEPT] = {"The brand keeps these records for its statistics.",
                              "品牌方保留这些记录用于统计。", "品牌方保留這些紀錄用於統計。", NULL},
    [T_PRIVACY_RIGHTS] =
        {"You can download all your data (“My points”, signed in) and have your account "
         "erased at any time: your number and accounts are deleted, and your points history "
         "stays without anything that identifies you.",
         "您可以随时下载您的全部数据（登录后在“我的积分”中），并注销账户：您的手机号和账号将被删除"
         "，"
         "积分记录保留但不再含有任何可识别您的信息。",
         "您可以隨時下載您的全部資料（登入後在「我的積分」中），並註銷帳戶：您的手機號碼和帳號將被"
         "刪"
         "除，積分紀錄保留但不再含有任何可識別您的資訊。",
         NULL},
    [T_CAMPAIGN_BASE] = {"%d points", "基础积分 %d", "基礎積分 %d", "%d point"},
    [T_CAMPAIGN_TIMES] = {" × %s", " × %s", " × %s", NULL},
    [T_CAMPAIGN_PLUS] = {" + %d bonus points", " + 奖励积分 %d", " + 獎勵積分 %d",
                         " + %d bonus point"},
    [T_PRIZE_WON] = {"You won: %s", "恭喜您获得：%s", "恭喜您獲得：%s", NULL},
    [T_RED_PACKET_WON] = {"A red packet for you: %s", "恭喜您获得红包：%s", "恭喜您獲得紅包：%s",
                          NULL},
    [T_CAMPAIGN_LINK] = {"Campaign: %s (rules)", "活动：%s（规则）", "活動：%s（規則）", NULL},
    [T_CAMPAIGN_RULES] = {"Campaign rules", "活动规则", "活動規則", NULL},
    [T_CAMPAIGN_PERIOD] = {"When", "活动时间", "活動時間", NULL},
    [T_CAMPAIGN_ENDED] = {"This campaign has ended.", "此活动已结束。", "此活動已結束。", NULL},
    [T_CAMPAIGN_MULTIPLIER] = {"Points multiplied by %s", "积分 × %s", "積分 × %s", NULL},
    [T_CAMPAIGN_BONUS] = {"%d bonus points a claim", "每次领取奖励 %d 积分", "每次領取獎勵 %d 積分",
                          "%d bonus point a claim"},
    [T_CAMPAIGN_FIRST] = {"%d bonus points for your first claim of the brand",
                          "首次领取该品牌奖励 %d 积分", "首次領取該品牌獎勵 %d 積分",
                          "%d bonus point for your first claim of the brand"},
    [T_CAMPAIGN_LADDER] = {"A bonus every %d claims of the brand", "每领取该品牌第 %d 次可获奖励",
                           "每領取該品牌第 %d 次可獲獎勵", NULL},
    [T_CAMPAIGN_LIMIT] = {"At most %d claims a day per member", "每位会员每天最多 %d 次",
                          "每位會員每天最多 %d 次", "At most %d claim a day per member"},
    [T_CAMPAIGN_REGIONS] = {"Regions: %s", "活动地区：%s", "活動地區：%s", NULL},
    [T_CAMPAIGN_PRIZES] = {"Prizes", "奖品", "獎品", NULL},
    [T_CAMPAIGN_PRIZE_LEFT] = {"%d left", "剩余 %d 份", "剩餘 %d 份", NULL},
    [T_CAMPAIGN_FAIR] = {"Each claim's draw is HMAC-SHA256 of its serial number under the "
                         "campaign's secret. The secret's SHA-256 is published below from the "
                         "start; the secret itself when the campaign ends, so that anyone can "
                         "check every draw.",
                         "每次抽奖结果由活动密钥对该码序列号计算 HMAC-SHA256 得出。密钥的 "
                         "SHA-256 自活动开始即公布于下方，密钥本身于活动结束时公开，任何人都"
                         "可以核对每一次抽奖。",
                         "每次抽獎結果由活動密鑰對該碼序號計算 HMAC-SHA256 得出。密鑰的 "
                         "SHA-256 自活動開始即公布於下方，密鑰本身於活動結束時公開，任何人都"
                         "可以核對每一次抽獎。",
                         NULL},
    [T_CAMPAIGN_HASH] = {"SHA-256 of the secret", "密钥的 SHA-256", "密鑰的 SHA-256", NULL},
    [T_CAMPAIGN_SECRET] = {"The secret (revealed)", "密钥（已公开）", "密鑰（已公開）", NULL},
    [T_CAMPAIGN_UNKNOWN] = {"No such campaign", "没有此活动", "沒有此活動", NULL},
};

const char *landing_text(enum text t, enum lang l, long long n)
{
	if (t < 0 || t >= T_COUNT)
		return "";
	if (l == LANG_EN && n == 1 && texts[t][3])
		return texts[t][3];
	switch (l) {
	case LANG_ZH:
		return texts[t][1];
	case LANG_ZH_HANT:
		return texts[t][2];
	case LANG_EN:
		break;
	}
	return texts[t][0];
}
