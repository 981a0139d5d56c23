/*
 * The generated benchmark corpus (see corpus.h). Templates hold %N (a
 * number), %C (a city), %P (a product) and %D (a number of days); each
 * message picks a template, fills it, and may get a greeting and emoji.
 */
#include "corpus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const templates[] = {
	"物流已经%D天没更新了,什么时候能到?", "包裹卡在%C转运中心好几天了", "快递一直不动,都%D天了",
	"我的快递显示签收了,但是没有收到怎么办?", "拍了%N盒只收到1盒", "少发了一件%P",
	"快递到了盒子都压扁了,里面的%P碎了", "什么时候发货啊,我着急用", "我的快递到哪了",
	"大概几天能到%C?", "发错货了,不是我买的颜色", "快递员说联系不上我", "快递是不是丢了,%D天了",
	"地址填错了,能改一下吗", "你好,请问这个有红色的吗", "亲,能便宜点吗", "谢谢,已经收到了,很满意",
	"这个尺码偏大还是偏小", "有优惠券吗", "在吗", "好的,辛苦了", "东西收到了,包装很好没有破损,好评",
	"物流很快,第二天就到了", "这个能开发票吗", "%P还有货吗", "请问%P是正品吗", "买两件有优惠吗",
	"物流五天没更新,再不处理我就给差评了", "签收了没收到,我要找平台介入", "赠品没收到",
	"水果烂了好几个", "单号查不到任何信息,是不是没发出去", "怎么显示退回了?我没拒收啊",
	"Hi, my parcel has not been updated for %D days", "My package is stuck at the %C sorting centre",
	"Tracking says delivered but I never received it", "I only got 2 of the %N items I ordered",
	"The box arrived crushed and the %P is broken", "When will you ship my order?",
	"Where is my order?", "Can I have the tracking number please", "You sent me the wrong colour",
	"The courier says he couldn't reach me", "I think my parcel got lost",
	"Can I change the delivery address?", "Do you have this in size M?", "thanks, got it!",
	"Is this %P waterproof?", "Received in good condition, thank you", "Can you give me a discount?",
	"Parcel still not here after %D days, I'll open a dispute", "Item is broken, I want a refund",
	"do you ship to %C?", "how much is shipping for %N pcs", "love the %P, will buy again",
	"订单号 A%N%N 的%P什么时候发", "我买的%P质量怎么样", "可以用花呗吗", "明天能发货吗",
};
static const char *const cities[] = {"杭州", "广州", "上海", "深圳", "成都", "Penang",
				     "Kuala Lumpur", "Shenzhen", "北京", "义乌"};
static const char *const products[] = {"杯子", "腰果", "手机壳", "mug", "phone case", "草莓",
				       "T-shirt", "洗发水", "蓝牙耳机", "vase"};
static const char *const greet[] = {"", "", "", "亲,", "你好,", "Hi, ", "hello ", "在吗 "};
static const char *const tails[] = {"", "", "", "", "😭", "🙏", "!!", "?", "。。。", " pls"};

size_t bench_corpus(char **msgs, size_t n, unsigned seed)
{
	size_t i, total = 0;
	char buf[512], *o;
	const char *t;

	srand(seed);
	for (i = 0; i < n; i++) {
		size_t k = 0;
		t = templates[(size_t)rand() % (sizeof templates / sizeof templates[0])];
		o = buf;
		o += snprintf(o, 64, "%s", greet[(size_t)rand() % (sizeof greet / sizeof greet[0])]);
		while (*t && (size_t)(o - buf) < sizeof buf - 64) {
			if (t[0] == '%' && t[1]) {
				switch (t[1]) {
				case 'N':
					o += sprintf(o, "%d", 2 + rand() % 9);
					break;
				case 'D':
					o += sprintf(o, "%d", 2 + rand() % 12);
					break;
				case 'C':
					o += sprintf(o, "%s", cities[(size_t)rand() % 10]);
					break;
				case 'P':
					o += sprintf(o, "%s", products[(size_t)rand() % 10]);
					break;
				default:
					*o++ = t[1];
				}
				t += 2;
				k++;
				continue;
			}
			*o++ = *t++;
		}
		o += sprintf(o, "%s", tails[(size_t)rand() % (sizeof tails / sizeof tails[0])]);
		*o = '\0';
		msgs[i] = strdup(buf);
		total += (size_t)(o - buf);
	}
	return total;
}
